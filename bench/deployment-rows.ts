import { join } from "node:path";
import type { HexclaveLaunch } from "./bench-options.js";
import {
  COMPARE_SUFFIX,
  DEPLOYMENTS,
  type DeploymentId,
  deploymentOf,
  type RunningDeployment,
  startDeployment,
} from "./deployments.js";
import { type BenchPostgres, startBenchPostgres } from "./postgres-cluster.js";
import { storedSealedBytes } from "./response-shape.js";
import type { DeploymentsResult, RowResult } from "./results.js";
import { type RowSettings, runRow } from "./run-row.js";
import type { Workload } from "./workloads.js";

/** The load: 4 connections × 16 streams, each connection its own key. */
export const DEPLOYMENT_CONNECTIONS = 4;
export const DEPLOYMENT_CONCURRENCY = 64;

/** What the deployments section runs. */
export interface DeploymentOptions {
  readonly ids: readonly DeploymentId[];
  /** Each deployment runs every workload once per round; ratios come from the same round. */
  readonly rounds: number;
  /** Entries preloaded into each deployment's store. */
  readonly entries: number;
  readonly preloadConcurrency: number;
  readonly launch: HexclaveLaunch;
  /**
   * Another build's `dist` directory: every real deployment also runs from it
   * (key `<id>@compare`), in the same rounds — a change measured before and
   * after in one run.
   */
  readonly compareBuild: string | undefined;
}

/**
 * GetValue and durable SetValue at concurrency 64 on every deployment, side
 * by side with the no-op baseline: all deployments are started (and
 * preloaded) first, then each round runs every deployment's rows in turn —
 * the order rotating from round to round — so a noisy spell on a shared
 * machine hits one round of every deployment rather than all rounds of one.
 * Each ratio is taken against the one-process no-op of the same round.
 *
 * @throws Error only for local failures; a deployment that cannot start is reported as skipped.
 * @example
 * const result = await measureDeployments(options, settings);
 */
export async function measureDeployments(
  options: DeploymentOptions,
  settings: Omit<RowSettings, "token" | "maxGenerators">,
): Promise<DeploymentsResult> {
  const skipped: { deployment: string; reason: string }[] = [];
  const keys = options.ids.flatMap((id) =>
    options.compareBuild !== undefined && DEPLOYMENTS[id].kind === "hexclave"
      ? [id, `${id}${COMPARE_SUFFIX}`]
      : [id],
  );
  let postgres: BenchPostgres | undefined;
  let postgresVersion: string | undefined;
  if (options.ids.some((id) => DEPLOYMENTS[id].needsPostgres)) {
    process.stderr.write("deployments: starting a PostgreSQL cluster\n");
    try {
      postgres = await startBenchPostgres();
      postgresVersion = postgres.version;
    } catch (error) {
      for (const key of keys.filter((k) => deploymentOf(k).def.needsPostgres)) {
        skipped.push({ deployment: key, reason: (error as Error).message.split("\n")[0] ?? "" });
      }
    }
  }
  const running: RunningDeployment[] = [];
  const rows: RowResult[] = [];
  const rssBytes: Record<string, number> = {};
  try {
    // The real servers first: the no-op answers with values as long as theirs.
    const noop = (key: string): number => Number(deploymentOf(key).def.kind === "noop");
    const ordered = [...keys].sort((a, b) => noop(a) - noop(b));
    let sealedBytes = 345;
    for (const key of ordered) {
      if (skipped.some((s) => s.deployment === key)) continue;
      const { compare, label } = deploymentOf(key);
      process.stderr.write(`deployments: starting ${label}\n`);
      const d = await startDeployment(
        key,
        {
          entries: options.entries,
          preloadConcurrency: options.preloadConcurrency,
          sealedBytes,
          launch: options.launch,
          postgres,
        },
        compare && options.compareBuild !== undefined
          ? join(options.compareBuild, "src/cli/main.js")
          : undefined,
      );
      running.push(d);
      if (d.def.kind === "hexclave" && running.length === 1) {
        const first = d.servers[0];
        if (first !== undefined) sealedBytes = await storedSealedBytes(first.caller, d.space);
      }
      if (d.unavailable !== undefined) skipped.push({ deployment: key, reason: d.unavailable });
    }
    const runnable = keys
      .map((key) => running.find((r) => r.key === key))
      .filter((r): r is RunningDeployment => r !== undefined && r.unavailable === undefined);
    for (let round = 0; round < options.rounds; round++) {
      for (const [w, workload] of (["get", "set"] as const).entries()) {
        const turn = rotate(
          runnable.filter((r) => r.def.workloads.includes(workload)),
          round,
        );
        for (const d of turn) {
          const row = await runRow(
            { ...settings, token: d.token, maxGenerators: DEPLOYMENT_CONNECTIONS },
            {
              serverName: d.def.kind,
              servers: d.servers,
              deployment: d.key,
              workload,
              concurrency: DEPLOYMENT_CONCURRENCY,
              expect: { space: d.space, sealedBytes, opens: d.def.kind === "hexclave" },
              seed: 500 + w,
            },
          );
          process.stderr.write(
            `round ${round + 1} ${row.row.padEnd(13)} ${deploymentOf(d.key).label.padEnd(46)} ${row.status} ${Number.isFinite(row.opsPerSec) ? Math.round(row.opsPerSec) : "—"} ops/s ${row.problems.join("; ")}\n`,
          );
          rows.push({ ...row, round });
        }
      }
    }
    for (const d of running) {
      const rss = d.rssBytes();
      if (rss !== undefined) rssBytes[d.key] = rss;
    }
  } finally {
    await Promise.all(running.map((d) => d.stop()));
    await postgres?.close();
  }
  return { keys, rounds: options.rounds, rows, skipped, rssBytes, postgresVersion };
}

/** The deployments in a round's order: shifted by one each round. */
function rotate<T>(items: readonly T[], round: number): T[] {
  if (items.length === 0) return [];
  const shift = round % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/** One deployment's rows for one workload, summarised over the rounds. */
export interface DeploymentSummary {
  /** A deployment key: its id, or its id and "@compare". */
  readonly deployment: string;
  readonly workload: Workload;
  /** Rounds whose row and baseline both succeeded. */
  readonly rounds: number;
  readonly failed: number;
  /** Medians over the rounds. */
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly serverCpuPct: number;
  readonly serverLoopPct: number;
  readonly otherCpuPct: number;
  /** ops/s ÷ the one-process no-op's in the same round: median, lowest, highest. */
  readonly ratio: { readonly median: number; readonly min: number; readonly max: number };
  readonly problems: readonly string[];
}

/**
 * Summarises the section's rows per deployment and workload.
 *
 * @throws never; NaN where nothing succeeded.
 * @example
 * const summaries = summarizeDeployments(result);
 */
export function summarizeDeployments(result: DeploymentsResult): DeploymentSummary[] {
  const out: DeploymentSummary[] = [];
  for (const id of result.keys) {
    for (const workload of deploymentOf(id).def.workloads) {
      const mine = result.rows.filter((r) => r.deployment === id && r.workload === workload);
      if (mine.length === 0) continue;
      const ok = mine.filter((r) => r.status === "ok");
      const ratios = ok.flatMap((r) => {
        const base = result.rows.find(
          (b) =>
            b.deployment === "noop" &&
            b.workload === workload &&
            b.round === r.round &&
            b.status === "ok",
        );
        return base === undefined ? [] : [r.opsPerSec / base.opsPerSec];
      });
      out.push({
        deployment: id,
        workload,
        rounds: ratios.length,
        failed: mine.length - ok.length,
        opsPerSec: median(ok.map((r) => r.opsPerSec)),
        p50Ms: median(ok.map((r) => r.p50Ms)),
        p99Ms: median(ok.map((r) => r.p99Ms)),
        serverCpuPct: median(ok.map((r) => r.serverCpuPct)),
        serverLoopPct: median(ok.map((r) => r.serverLoopPct)),
        otherCpuPct: median(ok.map((r) => r.otherCpuPct)),
        ratio: {
          median: median(ratios),
          min: ratios.length === 0 ? Number.NaN : Math.min(...ratios),
          max: ratios.length === 0 ? Number.NaN : Math.max(...ratios),
        },
        problems: mine.flatMap((r) => r.problems),
      });
    }
  }
  return out;
}

/**
 * The median; the mean of the middle two for an even count.
 *
 * @throws never; NaN for no values.
 * @example
 * median([3, 1, 2]); // 2
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * `a`'s ops/s over `b`'s for one workload, round by round, and their median:
 * what turning something on costs (audit, metrics), or what a change did
 * (this build against `--compare-build`).
 *
 * @throws never; NaN if no round has both rows.
 * @example
 * pairedRatio(result, "sqlite", "sqlite-audit-off", "get"); // 0.86
 */
export function pairedRatio(
  result: DeploymentsResult,
  a: string,
  b: string,
  workload: Workload,
): number {
  const find = (id: string, round: number | undefined): RowResult | undefined =>
    result.rows.find(
      (r) =>
        r.deployment === id && r.workload === workload && r.round === round && r.status === "ok",
    );
  const ratios = result.rows
    .filter((r) => r.deployment === a && r.workload === workload && r.status === "ok")
    .flatMap((r) => {
      const other = find(b, r.round);
      return other === undefined ? [] : [r.opsPerSec / other.opsPerSec];
    });
  return median(ratios);
}
