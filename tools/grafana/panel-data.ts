import { type Dashboard, interpolate, type Panel, queryPanels } from "./dashboard-model.js";
import type { PrometheusProcess } from "./prometheus-process.js";

/** One line of a panel: its legend and its points ([unix seconds, value]; NaN where none). */
export interface PanelSeries {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

/** A panel with the data its queries returned over the window. */
export interface PanelData {
  readonly panel: Panel;
  readonly series: readonly PanelSeries[];
}

/** The stretch of time to draw, and the variables' values. */
export interface QueryWindow {
  readonly start: number;
  readonly end: number;
  readonly stepSeconds: number;
  readonly scrapeSeconds: number;
  readonly variables: Readonly<Record<string, string>>;
}

/**
 * Runs every panel's queries against Prometheus over the window, as Grafana
 * would (variables replaced, `$__rate_interval` from the step and scrape
 * interval), and names each series by its target's legend format.
 *
 * @throws PromQLError if Prometheus refuses a query.
 * @example
 * const data = await queryDashboard(prometheus, dashboard, { start, end, stepSeconds: 2, scrapeSeconds: 1, variables: { job: "hexclave", instance: ".+" } });
 */
export async function queryDashboard(
  prometheus: PrometheusProcess,
  dashboard: Dashboard,
  window: QueryWindow,
): Promise<PanelData[]> {
  const out: PanelData[] = [];
  for (const panel of queryPanels(dashboard)) {
    const series: PanelSeries[] = [];
    for (const target of panel.targets ?? []) {
      const expr = interpolate(target.expr, window);
      const result = await prometheus.queryRange(
        expr,
        window.start,
        window.end,
        window.stepSeconds,
      );
      for (const one of result) {
        series.push({
          name: legendOf(target.legendFormat, one.metric, expr),
          points: one.values.map(([at, value]) => [at, Number(value)] as const),
        });
      }
    }
    out.push({ panel, series });
  }
  return out;
}

/** `{{label}}` filled from the series' labels; "__auto" or none: the labels, or the query. */
function legendOf(
  format: string | undefined,
  labels: Record<string, string>,
  expr: string,
): string {
  if (format === undefined || format === "" || format === "__auto") {
    const shown = Object.entries(labels).filter(([name]) => name !== "__name__");
    return shown.length > 0 ? shown.map(([k, v]) => `${k}="${v}"`).join(", ") : expr;
  }
  return format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_match, name: string) => labels[name] ?? "");
}
