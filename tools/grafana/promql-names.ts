/** Words of PromQL that look like names but are not series. */
const KEYWORDS = new Set(["and", "or", "unless", "bool", "offset", "inf", "nan", "atan2"]);

/**
 * The series names a PromQL expression reads: every bare identifier that is
 * not a function call, a keyword, a label (inside `{…}` or a `by (…)` list),
 * a string or a duration. Enough for the expressions of the dashboard and
 * the alerts; Prometheus itself then runs them, which proves they parse.
 *
 * @example
 * seriesNames('sum by (le) (rate(x_bucket{job=~"$job"}[$__rate_interval]))'); // ["x_bucket"]
 */
export function seriesNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  const names = new Set<string>();
  for (const match of bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const name = match[1] as string;
    const before = bare[(match.index ?? 0) - 1] ?? "";
    if (match[2] !== undefined || KEYWORDS.has(name.toLowerCase()) || /[0-9.$]/.test(before)) {
      continue;
    }
    names.add(name);
  }
  return [...names];
}
