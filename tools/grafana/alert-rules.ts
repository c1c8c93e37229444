import { readFile } from "node:fs/promises";

/** One alerting rule of a rules file: its name and its PromQL expression. */
export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
}

/**
 * The alerts of a Prometheus rules file, read without a YAML library: each
 * `- alert: Name` followed by its `expr:`, written on one line or as a `|`
 * block. It reads the layout docs/alerts/hexclave-alerts.yml uses; the test
 * checks it found as many rules as promtool and Prometheus do.
 *
 * @throws Error naming an alert that has no expression.
 * @example
 * const rules = await readAlertRules(ALERT_RULES);
 */
export async function readAlertRules(path: string): Promise<AlertRule[]> {
  const lines = (await readFile(path, "utf8")).split("\n");
  const rules: AlertRule[] = [];
  for (let i = 0; i < lines.length; i++) {
    const alert = /^\s*- alert:\s*(\S+)\s*$/.exec(lines[i] as string)?.[1];
    if (alert === undefined) continue;
    let expr: string | undefined;
    for (let j = i + 1; j < lines.length && expr === undefined; j++) {
      const line = lines[j] as string;
      if (/^\s*- alert:/.test(line)) break;
      const inline = /^(\s*)expr:\s*(.*)$/.exec(line);
      if (inline === null) continue;
      if (inline[2]?.trim() !== "|") {
        expr = (inline[2] as string).trim();
        break;
      }
      const indent = (inline[1] as string).length;
      const block: string[] = [];
      for (j += 1; j < lines.length; j++) {
        const next = lines[j] as string;
        if (next.trim() !== "" && next.length - next.trimStart().length <= indent) break;
        block.push(next.trim());
      }
      expr = block.join(" ").trim();
    }
    if (expr === undefined || expr === "") throw new Error(`${path}: alert ${alert} has no expr`);
    rules.push({ alert, expr });
  }
  return rules;
}
