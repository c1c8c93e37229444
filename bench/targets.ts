import { pairedRatio, summarizeDeployments } from "./deployment-rows.js";
import type { DeploymentId } from "./deployments.js";
import type { BenchReport, RowResult } from "./results.js";
import type { Workload } from "./workloads.js";

/** One of the issues' targets, with what this run measured. */
export interface TargetCheck {
  readonly name: string;
  /** e.g. "≥ 0.90×". */
  readonly target: string;
  /** e.g. "0.42×"; "n/a" when the run did not measure it. */
  readonly measured: string;
  readonly met: boolean | undefined;
}

/**
 * Checks the run against the issues' targets (ratios from one run on this
 * machine): throughput from the deployments section (against the one-process
 * no-op of the same round), else from the main rows at concurrency 64.
 *
 * @throws never; targets the run did not measure are `met: undefined`.
 * @example
 * for (const t of targetChecks(report)) console.log(t.name, t.measured, t.met);
 */
export function targetChecks(report: BenchReport): TargetCheck[] {
  const ratio = (workload: string, concurrency: number): number | undefined => {
    const find = (server: string): RowResult | undefined =>
      report.rows.find(
        (r) =>
          r.workload === workload &&
          r.concurrency === concurrency &&
          r.server === server &&
          r.status === "ok",
      );
    const real = find("hexclave");
    const noop = find("noop");
    return real === undefined || noop === undefined ? undefined : real.opsPerSec / noop.opsPerSec;
  };
  const [small, large] = [report.sizes[0], report.sizes[report.sizes.length - 1]];
  const p50 = (size: typeof small, concurrency: number): number | undefined =>
    size?.rows.find((r) => r.concurrency === concurrency && r.status === "ok")?.p50Ms;
  const sizeRatio = (concurrency: number): number | undefined => {
    if (small === undefined || large === undefined || small === large) return undefined;
    const [a, b] = [p50(small, concurrency), p50(large, concurrency)];
    return a === undefined || b === undefined ? undefined : b / a;
  };
  const coldRatio =
    small?.coldReads !== undefined && large?.coldReads !== undefined && small !== large
      ? large.coldReads.p50Ms / small.coldReads.p50Ms
      : undefined;
  const rssMb =
    large !== undefined && report.sizes.length > 1 && large.serverRssBytes !== undefined
      ? large.serverRssBytes / 2 ** 20
      : undefined;
  const d = report.deployments;
  const summaries = d === undefined ? [] : summarizeDeployments(d);
  const vsNoop = (id: DeploymentId, workload: Workload): number | undefined => {
    const m = summaries.find((x) => x.deployment === id && x.workload === workload)?.ratio.median;
    return m === undefined || !Number.isFinite(m) ? undefined : m;
  };
  const paired = (a: DeploymentId, b: DeploymentId): number | undefined => {
    const r = d === undefined ? Number.NaN : pairedRatio(d, a, b, "get");
    return Number.isFinite(r) ? r : undefined;
  };
  const throughput =
    d === undefined
      ? [
          atLeast("GetValue ops/s vs no-op @64 (main rows)", ratio("get", 64), 0.9, "×"),
          atLeast("SetValue (durable) ops/s vs no-op @64 (main rows)", ratio("set", 64), 0.7, "×"),
        ]
      : [
          atLeast("GetValue, SQLite, 1 process, vs no-op", vsNoop("sqlite", "get"), 0.9, "×"),
          atLeast(
            "GetValue, SQLite, --workers 2, vs no-op",
            vsNoop("sqlite-workers-2", "get"),
            1.2,
            "×",
          ),
          atLeast(
            "SetValue (durable), SQLite, 1 process, vs no-op",
            vsNoop("sqlite", "set"),
            0.7,
            "×",
          ),
          atLeast(
            "SetValue (durable), SQLite, --workers 2, vs no-op",
            vsNoop("sqlite-workers-2", "set"),
            1.0,
            "×",
          ),
          atLeast("GetValue, PostgreSQL, 1 server, vs no-op", vsNoop("postgres", "get"), 0.5, "×"),
          atLeast(
            "SetValue (durable), PostgreSQL, 1 server, vs no-op",
            vsNoop("postgres", "set"),
            0.3,
            "×",
          ),
          atLeast(
            "GetValue, PostgreSQL, 2 servers, vs no-op",
            vsNoop("postgres-2", "get"),
            0.5,
            "×",
          ),
          atLeast(
            "SetValue (durable), PostgreSQL, 2 servers, vs no-op",
            vsNoop("postgres-2", "set"),
            0.3,
            "×",
          ),
          atLeast(
            "GetValue, audit on ÷ off (cost < 20%)",
            paired("sqlite", "sqlite-audit-off"),
            0.8,
            "×",
          ),
          atLeast(
            "GetValue, metrics on ÷ off (cost < 5%)",
            paired("sqlite-metrics", "sqlite"),
            0.95,
            "×",
          ),
        ];
  return [
    ...throughput,
    atLeast("client seal+open cheaper than 2× PBKDF2-100k", report.clientCost?.ratio, 1000, "×"),
    atMost(
      `get p50 @${count(large?.entries)} / @${count(small?.entries)} entries (c=1)`,
      sizeRatio(1),
      1.3,
      "×",
    ),
    atMost(
      `get p50 @${count(large?.entries)} / @${count(small?.entries)} entries (c=16)`,
      sizeRatio(16),
      1.3,
      "×",
    ),
    atMost(
      `get p50 @${count(large?.entries)} / @${count(small?.entries)}, cold reads (storage path)`,
      coldRatio,
      1.3,
      "×",
    ),
    atMost(`server RSS after the ${count(large?.entries)}-entry run`, rssMb, 150, " MB"),
  ];
}

function count(entries: number | undefined): string {
  return entries === undefined ? "?" : entries.toLocaleString("en-US");
}

function fmt(value: number, unit: string): string {
  if (unit === " MB") return `${value.toFixed(0)} MB`;
  return value >= 100
    ? `${Math.round(value).toLocaleString("en-US")}${unit}`
    : `${value.toFixed(2)}${unit}`;
}

function atLeast(name: string, value: number | undefined, min: number, unit: string): TargetCheck {
  return {
    name,
    target: `≥ ${fmt(min, unit)}`,
    measured: value === undefined ? "n/a" : fmt(value, unit),
    met: value === undefined ? undefined : value >= min,
  };
}

function atMost(name: string, value: number | undefined, max: number, unit: string): TargetCheck {
  return {
    name,
    target: `≤ ${fmt(max, unit)}`,
    measured: value === undefined ? "n/a" : fmt(value, unit),
    met: value === undefined ? undefined : value <= max,
  };
}
