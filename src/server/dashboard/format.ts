/**
 * Sizes in binary units, as the CLI prints them.
 *
 * @example
 * formatBytes(65536); // "64 KiB"
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = value >= 100 || Number.isInteger(value) ? value.toFixed(0) : value.toFixed(1);
  return `${shown} ${units[unit]}`;
}

/**
 * A time in UTC, to the second: the dashboard and the server log agree whatever the browser's zone.
 *
 * @example
 * formatTime(0); // "1970-01-01 00:00:00 UTC"
 */
export function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/**
 * A span of time, roughly, for "last used 5 min ago" and uptimes.
 *
 * @example
 * formatSpan(90_000); // "1 min"
 */
export function formatSpan(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

/**
 * A rate or latency with a sensible number of digits.
 *
 * @example
 * formatNumber(0.4); // "0.4"
 */
export function formatNumber(n: number): string {
  if (n === 0) return "0";
  if (n >= 100) return n.toFixed(0);
  if (n >= 10) return n.toFixed(1);
  return n.toPrecision(2).replace(/\.?0+$/, "");
}
