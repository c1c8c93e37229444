import { type ActivitySeries, HISTORY_SLOTS, SLOT_MS } from "./activity-history.js";
import { formatNumber } from "./format.js";
import { type Html, html } from "./html.js";

const WIDTH = HISTORY_SLOTS * 4;
const HEIGHT = 100;

/**
 * The Activity charts as server-made SVG (no chart library, no script needed
 * to see them; the page's script only refreshes them): calls per second,
 * errors per second and p99 latency, one bar per 5 seconds over 15 minutes.
 * Each chart also says its latest value and its peak in words.
 *
 * @example
 * html`<div data-fragment>${activityCharts(series)}</div>`;
 */
export function activityCharts(series: ActivitySeries): Html {
  const minutes = Math.round((HISTORY_SLOTS * SLOT_MS) / 60_000);
  const p99 = series.p99Ms.map((v) => v ?? 0);
  return html`<div class="charts">
${chart("calls", "Calls per second", series.callsPerSecond, "/s", "", minutes)}
${chart("errors", "Errors per second", series.errorsPerSecond, "/s", " err", minutes)}
${chart("p99", "p99 latency", p99, " ms", " lat", minutes, lastKnown(series.p99Ms))}
</div>`;
}

function chart(
  id: string,
  title: string,
  values: readonly number[],
  unit: string,
  barClass: string,
  minutes: number,
  latest: number = values[values.length - 1] ?? 0,
): Html {
  const peak = Math.max(0, ...values);
  const scale = peak === 0 ? 0 : HEIGHT / peak;
  const step = WIDTH / values.length;
  const bars = values.map((v, i) => {
    if (v <= 0) return "";
    const h = Math.max(1, v * scale);
    return html`<rect class="bar${barClass}" x="${(i * step).toFixed(1)}" y="${(HEIGHT - h).toFixed(1)}" width="${(step * 0.8).toFixed(1)}" height="${h.toFixed(1)}"></rect>`;
  });
  const summary = `${title}: ${formatNumber(latest)}${unit} now, peak ${formatNumber(peak)}${unit} over the last ${minutes} minutes`;
  return html`<section class="card chart-card" aria-labelledby="chart-${id}-title">
<h3 id="chart-${id}-title">${title}</h3>
<p class="now" id="chart-${id}-now">${formatNumber(latest)}${unit}</p>
<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" preserveAspectRatio="none" role="img" aria-label="${summary}" focusable="false">
<line class="base" x1="0" y1="${HEIGHT - 0.5}" x2="${WIDTH}" y2="${HEIGHT - 0.5}"></line>
${bars}
</svg>
<div class="axis" aria-hidden="true"><span>${minutes} min ago</span><span>peak ${formatNumber(peak)}${unit}</span><span>now</span></div>
</section>`;
}

function lastKnown(values: readonly (number | null)[]): number {
  for (let i = values.length - 1; i >= 0; i--) {
    const v = values[i];
    if (v !== null && v !== undefined) return v;
  }
  return 0;
}
