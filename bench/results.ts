import type { AuthTiming } from "./auth-timing.js";
import type { ColdReads } from "./cold-reads.js";
import type { Op } from "./request-bodies.js";
import type { Saturated } from "./saturation.js";
import type { LatencySummary } from "./stats.js";
import type { Workload } from "./workloads.js";

/**
 * The shapes the bench reports, as printed and as written by `--json`.
 */

/** Which server a row drove. */
export type ServerName = "hexclave" | "noop";

/** One row: one workload at one concurrency against one server. */
export interface RowResult {
  /** e.g. "GetValue @64". */
  readonly row: string;
  readonly workload: Workload;
  readonly concurrency: number;
  readonly server: ServerName;
  /** The deployment measured (deployments section only), e.g. "sqlite --workers 2". */
  readonly deployment?: string | undefined;
  /** The round of the deployments section (0-based). */
  readonly round?: number | undefined;
  /** "failed": a call was not OK, a response was malformed or missing, or the server was unhealthy after. */
  readonly status: "ok" | "failed" | "skipped";
  /** Why the row failed or was skipped. */
  readonly problems: readonly string[];
  /** Calls completed per second in the measured window (all operations). */
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Calls completed in the measured window. */
  readonly requests: number;
  /** Per operation, for the mix. */
  readonly byOp: Partial<Record<Op, LatencySummary>>;
  /** Achieved share of writes among completed calls (the mix aims at 0.1). */
  readonly setShare: number | undefined;
  /** Server process CPU, % of one core (all threads). */
  readonly serverCpuPct: number;
  /** Server main thread (event loop) CPU, % of one core. */
  readonly serverLoopPct: number;
  /** Sum over generator processes, % of one core. */
  readonly generatorCpuPct: number;
  /**
   * Everything else the machine ran during the window, % of one core (kernel
   * work on behalf of the sockets included). High values mean a noisy machine.
   */
  readonly otherCpuPct: number;
  /** The busiest generator process, % of one core. */
  readonly generatorMaxPct: number;
  /** Generator processes (each its own connection and its own key or keys). */
  readonly generators: number;
  readonly saturated: Saturated | undefined;
  /** Response message bytes of the checked call (the same for both servers when sizes match). */
  readonly responseBytes: number | undefined;
}

/** Client-side cost per operation, measured in-process. */
export interface ClientCost {
  /** Typical token length sealed, in characters. */
  readonly valueChars: number;
  readonly sealUs: number;
  readonly openUs: number;
  readonly sealOpenUs: number;
  /** HMAC of a key name (every call computes one). */
  readonly keyIdUs: number;
  /** One deriveStoreKeys with a hand-made secret (scrypt N=2^15, r=8, p=1). */
  readonly deriveScryptMs: number;
  /** One deriveStoreKeys with a generated hxs_ secret (HKDF only). */
  readonly deriveGeneratedUs: number;
  /** The reference product's per-call cost: PBKDF2-HMAC-SHA256, 100,000 iterations, twice. */
  readonly pbkdf2TwiceMs: number;
  /** pbkdf2TwiceMs / sealOpenUs. */
  readonly ratio: number;
}

/** GetValue latency against one store size. */
export interface SizeResult {
  readonly entries: number;
  readonly preloadSeconds: number;
  readonly rows: readonly RowResult[];
  /** Server VmRSS at the end of this size's run. */
  readonly serverRssBytes: number | undefined;
  /** Reads of entries never read before, one at a time: the storage path, past the entry cache. */
  readonly coldReads?: ColdReads | undefined;
}

/** The deployments section: every deployment's rows, round by round. */
export interface DeploymentsResult {
  /** Deployment keys in report order: an id, or an id and "@compare" (--compare-build). */
  readonly keys: readonly string[];
  readonly rounds: number;
  readonly rows: readonly RowResult[];
  /** Deployments that did not run, and why (no PostgreSQL, no metrics in this build). */
  readonly skipped: readonly { readonly deployment: string; readonly reason: string }[];
  /** The largest VmRSS among each deployment's serving processes, after its rows. */
  readonly rssBytes: Readonly<Record<string, number>>;
  readonly postgresVersion: string | undefined;
}

/** Everything one run measured. */
export interface BenchReport {
  readonly command: string;
  readonly startedAt: string;
  readonly machine: { readonly cpus: number; readonly cpuModel: string; readonly node: string };
  readonly settings: Readonly<Record<string, unknown>>;
  readonly preload: {
    readonly entries: number;
    readonly seconds: number;
    readonly sealedBytes: number;
  };
  readonly rows: readonly RowResult[];
  readonly clientCost: ClientCost | undefined;
  readonly sizes: readonly SizeResult[];
  readonly deployments: DeploymentsResult | undefined;
  readonly authTiming: AuthTiming | undefined;
  /** Server VmRSS after the main rows. */
  readonly serverRssBytes: number | undefined;
  /** The no-op baseline's VmRSS after the main rows: what grpc-js alone holds. */
  readonly noopRssBytes: number | undefined;
  readonly totalSeconds: number;
}
