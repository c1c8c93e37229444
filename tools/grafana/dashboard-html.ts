import type { Dashboard, Panel } from "./dashboard-model.js";
import type { PanelData, PanelSeries } from "./panel-data.js";
import { formatValue } from "./unit-format.js";

/** Grafana's classic palette (dark theme), in its order. */
const PALETTE = [
  "#73BF69",
  "#F2CC0C",
  "#8AB8FF",
  "#FF780A",
  "#F2495C",
  "#5794F2",
  "#B877D9",
  "#705DA0",
  "#37872D",
  "#FADE2A",
];
const COLORS: Readonly<Record<string, string>> = {
  green: "#73BF69",
  orange: "#FF9830",
  red: "#F2495C",
  yellow: "#FADE2A",
  blue: "#5794F2",
};
/** Grafana's grid: 24 columns; a height unit is 30 px plus an 8 px gap. */
const ROW_UNIT = 30;
const GAP = 8;

/** How the page is laid out. */
export interface PictureLayout {
  /** Page width in CSS pixels. */
  readonly width: number;
  /** Shown under the title: where the data came from. */
  readonly caption: string;
}

/**
 * The dashboard drawn as one HTML page in Grafana's dark layout: rows, stat
 * panels (last value, thresholds, value mappings) and time series (lines or
 * stacked areas, axes, legends) from the data Prometheus returned. Only the
 * panel kinds and options the Hexclave dashboard uses.
 *
 * @example
 * const html = dashboardHtml(dashboard, await queryDashboard(prometheus, dashboard, window), { width: 1600, caption: "…" });
 */
export function dashboardHtml(
  dashboard: Dashboard,
  data: readonly PanelData[],
  layout: PictureLayout,
): string {
  const byId = new Map(data.map((d) => [d.panel.id, d]));
  const column = (layout.width - 2 * GAP) / 24;
  const parts: string[] = [];
  let bottom = 0;
  for (const panel of dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])])) {
    const { x, y, w, h } = panel.gridPos;
    const box = {
      left: GAP + x * column,
      top: y * (ROW_UNIT + GAP),
      width: w * column - GAP,
      height: h * (ROW_UNIT + GAP) - GAP,
    };
    bottom = Math.max(bottom, box.top + box.height);
    const style = `left:${box.left}px;top:${box.top}px;width:${box.width}px;height:${box.height}px`;
    if (panel.type === "row") {
      parts.push(`<div class="row" style="${style}">⌄ ${escapeHtml(panel.title)}</div>`);
      continue;
    }
    const panelData = byId.get(panel.id);
    const body =
      panel.type === "stat"
        ? statBody(panel, panelData?.series ?? [], box.width, box.height - 32)
        : seriesBody(panel, panelData?.series ?? [], box.width, box.height - 32);
    parts.push(
      `<div class="panel" style="${style}"><div class="title">${escapeHtml(panel.title)}</div>${body}</div>`,
    );
  }
  return `<!doctype html><html><head><meta charset="utf-8"><style>${CSS}</style></head><body style="width:${layout.width}px">
<header><span class="crumb">Dashboards › </span>${escapeHtml(dashboard.title)}<span class="caption">${escapeHtml(layout.caption)}</span></header>
<div class="grid" style="height:${bottom + GAP}px">${parts.join("\n")}</div></body></html>`;
}

function statBody(
  panel: Panel,
  series: readonly PanelSeries[],
  width: number,
  height: number,
): string {
  const defaults = panel.fieldConfig?.defaults;
  const shown = series.length > 0 ? series : [{ name: "", points: [] }];
  const cells = shown.map((one) => {
    const value = lastValue(one.points);
    const mapped = Number.isFinite(value)
      ? defaults?.mappings?.flatMap((m) => m.options[String(value)] ?? [])[0]
      : undefined;
    const text =
      panel.options?.textMode === "name"
        ? one.name
        : (mapped?.text ?? formatValue(value, defaults?.unit, defaults?.decimals));
    const color = colorOf(
      mapped?.color ?? thresholdColor(value, defaults?.thresholds?.steps ?? []),
    );
    const background = panel.options?.colorMode === "background";
    const size = Math.min(height * 0.55, (width / Math.max(text.length, 3)) * 1.5, 56);
    const style = background
      ? `background:${color};color:#fff`
      : `color:${Number.isFinite(value) || panel.options?.textMode === "name" ? color : "#8e8e8e"}`;
    return `<div class="stat" style="${style};font-size:${size.toFixed(0)}px">${escapeHtml(text)}</div>`;
  });
  return `<div class="stats">${cells.join("")}</div>`;
}

function seriesBody(
  panel: Panel,
  series: readonly PanelSeries[],
  width: number,
  height: number,
): string {
  const legendHeight = Math.min(Math.ceil(series.length / 3), 2) * 16;
  // The svg holds the plot, 4 px above it and 24 px of time labels under it; the legend follows.
  const plotHeight = height - legendHeight - 34;
  const defaults = panel.fieldConfig?.defaults;
  const custom = (panel.fieldConfig?.defaults as { custom?: { stacking?: { mode?: string } } })
    ?.custom;
  const stacked = custom?.stacking?.mode === "normal";
  const lines = stacked ? stack(series) : series.map((s) => ({ ...s, base: undefined }));
  const times = series.flatMap((s) => s.points.map(([t]) => t));
  const values = lines.flatMap((s) => s.points.map(([, v]) => v)).filter(Number.isFinite);
  if (times.length === 0 || values.length === 0) {
    return `<div class="nodata" style="height:${height}px">No data</div>`;
  }
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const low = Math.min(defaults?.min ?? Number.POSITIVE_INFINITY, ...values);
  const highest = Math.max(...values);
  // A flat line (all zeros, say) still gets an axis of whole steps.
  const high = defaults?.max ?? (highest > low ? highest : low + (low === 0 ? 1 : Math.abs(low)));
  const ticks = niceTicks(low, high);
  const top = ticks[ticks.length - 1] as number;
  const axisWidth = 64;
  const plotWidth = width - axisWidth - 16;
  const px = (t: number) => axisWidth + ((t - t0) / Math.max(t1 - t0, 1)) * plotWidth;
  const py = (v: number) => 4 + plotHeight - ((v - low) / Math.max(top - low, 1e-12)) * plotHeight;
  const svg: string[] = [];
  for (const tick of ticks) {
    svg.push(
      `<line x1="${axisWidth}" x2="${width - 16}" y1="${py(tick)}" y2="${py(tick)}" class="gridline"/>`,
      `<text x="${axisWidth - 6}" y="${py(tick) + 4}" text-anchor="end">${escapeHtml(formatValue(tick, defaults?.unit))}</text>`,
    );
  }
  for (let i = 0; i <= 4; i++) {
    const t = t0 + ((t1 - t0) * i) / 4;
    const label = new Date(t * 1000).toISOString().slice(11, 19);
    svg.push(
      `<text x="${px(t)}" y="${plotHeight + 18}" text-anchor="${i === 0 ? "start" : i === 4 ? "end" : "middle"}">${label}</text>`,
    );
  }
  const fill = ((custom as { fillOpacity?: number } | undefined)?.fillOpacity ?? 10) / 100;
  lines.forEach((line, index) => {
    const color = PALETTE[index % PALETTE.length] as string;
    for (const run of runs(line.points)) {
      const path = run.map(([t, v]) => `${px(t).toFixed(1)},${py(v).toFixed(1)}`).join(" ");
      const under = line.base
        ? run
            .map(([t]) => [t, line.base?.get(t) ?? 0] as const)
            .reverse()
            .map(([t, v]) => `${px(t).toFixed(1)},${py(v).toFixed(1)}`)
            .join(" ")
        : `${px(run[run.length - 1]?.[0] ?? t0).toFixed(1)},${py(Math.max(low, 0))} ${px(run[0]?.[0] ?? t0).toFixed(1)},${py(Math.max(low, 0))}`;
      if (fill > 0) {
        svg.push(
          `<polygon points="${path} ${under}" fill="${color}" fill-opacity="${fill}" stroke="none"/>`,
        );
      }
      svg.push(`<polyline points="${path}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    }
  });
  const legend = series
    .slice(0, 6)
    .map(
      (s, index) =>
        `<span><i style="background:${PALETTE[index % PALETTE.length]}"></i>${escapeHtml(s.name)}</span>`,
    )
    .join("");
  return `<svg width="${width - 8}" height="${plotHeight + 24}">${svg.join("")}</svg><div class="legend">${legend}</div>`;
}

/** Stacked series: each drawn on top of the ones before, with the line it stands on. */
function stack(
  series: readonly PanelSeries[],
): { name: string; points: [number, number][]; base: Map<number, number> }[] {
  const below = new Map<number, number>();
  return series.map((one) => {
    const base = new Map(below);
    const points = one.points.map(([t, v]) => {
      const sum = (below.get(t) ?? 0) + (Number.isFinite(v) ? v : 0);
      below.set(t, sum);
      return [t, sum] as [number, number];
    });
    return { name: one.name, points, base };
  });
}

/** Stretches of consecutive finite points: a line breaks where there is no data. */
function runs(points: readonly (readonly [number, number])[]): (readonly [number, number])[][] {
  const out: (readonly [number, number])[][] = [[]];
  for (const point of points) {
    if (Number.isFinite(point[1])) out[out.length - 1]?.push(point);
    else if ((out[out.length - 1]?.length ?? 0) > 0) out.push([]);
  }
  return out.filter((run) => run.length > 0);
}

function niceTicks(low: number, high: number): number[] {
  const span = Math.max(high - low, 1e-9);
  const raw = span / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
  const ticks: number[] = [];
  for (let v = Math.floor(low / step) * step; v < high + step * 0.999; v += step) {
    ticks.push(Number(v.toPrecision(12)));
    if (v >= high) break;
  }
  return ticks;
}

function lastValue(points: readonly (readonly [number, number])[]): number {
  for (let i = points.length - 1; i >= 0; i--) {
    const value = points[i]?.[1] as number;
    if (Number.isFinite(value)) return value;
  }
  return Number.NaN;
}

function thresholdColor(
  value: number,
  steps: readonly { color: string; value: number | null }[],
): string {
  let color = steps[0]?.color ?? "green";
  for (const step of steps) if (step.value !== null && value >= step.value) color = step.color;
  return color;
}

function colorOf(name: string): string {
  return COLORS[name] ?? name;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const CSS = `
body { margin: 0; background: #111217; color: #ccccdc; font-family: Inter, "Helvetica Neue", Arial, sans-serif; }
header { padding: 12px 16px; font-size: 18px; color: #fff; }
.crumb { color: #8e8e8e; }
.caption { margin-left: 18px; font-size: 12px; color: #8e8e8e; }
.grid { position: relative; }
.row { position: absolute; font-size: 15px; font-weight: 500; color: #fff; line-height: 30px; }
.panel { position: absolute; box-sizing: border-box; background: #181b1f; border: 1px solid #2c3235; border-radius: 2px; overflow: hidden; }
.title { height: 28px; line-height: 28px; padding: 0 8px; font-size: 13px; font-weight: 500; color: #ccccdc; }
.stats { display: flex; height: calc(100% - 32px); gap: 4px; padding: 0 6px 6px; box-sizing: border-box; }
.stat { flex: 1; display: flex; align-items: center; justify-content: center; font-weight: 500; border-radius: 2px; white-space: nowrap; }
svg { margin-left: 4px; }
svg text { fill: #8e8e8e; font-size: 11px; }
.gridline { stroke: #2c3235; stroke-width: 1; }
.legend { padding: 0 10px; font-size: 11px; line-height: 16px; display: flex; flex-wrap: wrap; gap: 0 14px; max-height: 32px; overflow: hidden; }
.legend i { display: inline-block; width: 12px; height: 3px; margin-right: 5px; vertical-align: middle; }
.nodata { display: flex; align-items: center; justify-content: center; color: #8e8e8e; font-size: 14px; }
`;
