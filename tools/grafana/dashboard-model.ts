import { readFile } from "node:fs/promises";

/** A query of a panel, as Grafana's Prometheus data source stores it. */
export interface PanelTarget {
  readonly refId: string;
  readonly expr: string;
  readonly legendFormat?: string;
  readonly instant?: boolean;
}

/** The parts of a Grafana panel the tools read. */
export interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly description?: string;
  readonly gridPos: {
    readonly x: number;
    readonly y: number;
    readonly w: number;
    readonly h: number;
  };
  readonly targets?: readonly PanelTarget[];
  readonly fieldConfig?: {
    readonly defaults?: {
      readonly unit?: string;
      readonly min?: number;
      readonly max?: number;
      readonly decimals?: number;
      readonly mappings?: readonly ValueMapping[];
      readonly thresholds?: { readonly steps: readonly { color: string; value: number | null }[] };
    };
  };
  readonly options?: { readonly textMode?: string; readonly colorMode?: string };
  /** Rows hold their panels here when collapsed. */
  readonly panels?: readonly Panel[];
}

/** A value mapping: a number shown as text in a colour (stat panels). */
export interface ValueMapping {
  readonly type: "value";
  readonly options: Readonly<Record<string, { text: string; color?: string }>>;
}

/** A dashboard variable backed by a Prometheus query. */
export interface QueryVariable {
  readonly name: string;
  readonly type: string;
  readonly query?: string | { readonly query: string };
  readonly allValue?: string;
}

/** The parts of a Grafana dashboard the tools read. */
export interface Dashboard {
  readonly title: string;
  readonly panels: readonly Panel[];
  readonly templating: { readonly list: readonly QueryVariable[] };
  readonly time: { readonly from: string; readonly to: string };
}

/**
 * Reads a dashboard JSON file.
 *
 * @example
 * const dashboard = await loadDashboard(DASHBOARD_JSON);
 */
export async function loadDashboard(path: string): Promise<Dashboard> {
  return JSON.parse(await readFile(path, "utf8")) as Dashboard;
}

/** Every panel that queries something, rows flattened, in layout order (top to bottom, left to right). */
export function queryPanels(dashboard: Dashboard): Panel[] {
  const all = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
  return all
    .filter((panel) => panel.type !== "row" && (panel.targets?.length ?? 0) > 0)
    .sort((a, b) => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x);
}

/** The `label_values(metric_selector, label)` query of a variable, parsed. */
export function labelValuesQuery(variable: QueryVariable): { match: string; label: string } {
  const text = typeof variable.query === "string" ? variable.query : (variable.query?.query ?? "");
  const parsed = /^label_values\((.+),\s*(\w+)\)$/.exec(text.trim());
  if (parsed === null)
    throw new Error(`variable ${variable.name}: not a label_values() query: ${text}`);
  return { match: parsed[1] as string, label: parsed[2] as string };
}

/** What Grafana puts in place of its variables when it sends a query. */
export interface Interpolation {
  /** Dashboard variables (job, instance): the value picked, as a regex for `=~`. */
  readonly variables: Readonly<Record<string, string>>;
  /** The query's step ($__interval), in seconds. */
  readonly stepSeconds: number;
  /** The data source's scrape interval (its "Scrape interval" setting), in seconds. */
  readonly scrapeSeconds: number;
}

/**
 * Replaces Grafana's variables in a query as Grafana does before sending it:
 * `$name` / `${name}` by the variable's value, `$__interval` by the step,
 * `$__rate_interval` by max(step + scrape interval, 4 × scrape interval).
 *
 * @throws Error naming a variable the dashboard does not define.
 * @example
 * interpolate('rate(x{job=~"$job"}[$__rate_interval])', { variables: { job: "hexclave" }, stepSeconds: 2, scrapeSeconds: 1 });
 * // 'rate(x{job=~"hexclave"}[4s])'
 */
export function interpolate(expr: string, with_: Interpolation): string {
  const rate = Math.max(with_.stepSeconds + with_.scrapeSeconds, 4 * with_.scrapeSeconds);
  const builtIn: Record<string, string> = {
    __rate_interval: `${rate}s`,
    __interval: `${with_.stepSeconds}s`,
  };
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (_match, braced?: string, bare?: string) => {
    const name = (braced ?? bare) as string;
    const value = builtIn[name] ?? with_.variables[name];
    if (value === undefined) throw new Error(`unknown variable $${name} in: ${expr}`);
    return value;
  });
}
