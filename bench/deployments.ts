import { randomBytes } from "node:crypto";
import { generateSecret } from "../src/client/index.js";
import { deriveStoreKeys } from "../src/crypto/store-keys.js";
import { limits } from "../src/vault/limits.js";
import type { HexclaveLaunch } from "./bench-options.js";
import { residentBytes } from "./cpu-sampler.js";
import { freePort } from "./free-port.js";
import { KeySpace } from "./key-space.js";
import type { BenchPostgres } from "./postgres-cluster.js";
import { createBenchStore, preload } from "./preload.js";
import { RawCaller } from "./raw-caller.js";
import type { RowServer } from "./run-row.js";
import { type ServerProcess, startHexclave, startNoop } from "./server-process.js";
import type { Workload } from "./workloads.js";

/**
 * The ways of running the server that the deployments section compares, each
 * against the one-process no-op baseline of the same round.
 */

/** Every deployment, in report order. */
export const DEPLOYMENT_IDS = [
  "noop",
  "noop-2",
  "sqlite",
  "sqlite-workers-2",
  "postgres",
  "postgres-2",
  "sqlite-audit-off",
  "sqlite-metrics",
] as const;

export type DeploymentId = (typeof DEPLOYMENT_IDS)[number];

/** What a deployment is and which workloads it runs. */
export interface DeploymentDef {
  readonly id: DeploymentId;
  /** How the report names it. */
  readonly label: string;
  readonly kind: "noop" | "hexclave";
  readonly workloads: readonly Workload[];
  readonly needsPostgres: boolean;
}

export const DEPLOYMENTS: Readonly<Record<DeploymentId, DeploymentDef>> = {
  noop: def("noop", "no-op, 1 process (baseline)", "noop", ["get", "set"]),
  "noop-2": def("noop-2", "no-op, 2 processes (cluster)", "noop", ["get", "set"]),
  sqlite: def("sqlite", "SQLite, 1 process", "hexclave", ["get", "set"]),
  "sqlite-workers-2": def("sqlite-workers-2", "SQLite, --workers 2", "hexclave", ["get", "set"]),
  postgres: def("postgres", "PostgreSQL, 1 server", "hexclave", ["get", "set"], true),
  "postgres-2": def(
    "postgres-2",
    "PostgreSQL, 2 servers, one database",
    "hexclave",
    ["get", "set"],
    true,
  ),
  "sqlite-audit-off": def("sqlite-audit-off", "SQLite, 1 process, --audit off", "hexclave", [
    "get",
  ]),
  "sqlite-metrics": def(
    "sqlite-metrics",
    "SQLite, 1 process, metrics on (--http-listen)",
    "hexclave",
    ["get"],
  ),
};

function def(
  id: DeploymentId,
  label: string,
  kind: DeploymentDef["kind"],
  workloads: readonly Workload[],
  needsPostgres = false,
): DeploymentDef {
  return { id, label, kind, workloads, needsPostgres };
}

/** The suffix of a deployment run from the build given with `--compare-build`. */
export const COMPARE_SUFFIX = "@compare";

/**
 * What a deployment key (an id, or an id with {@link COMPARE_SUFFIX}) names.
 *
 * @throws never for keys this module made.
 * @example
 * deploymentOf("sqlite@compare"); // { def: DEPLOYMENTS.sqlite, compare: true, label: "SQLite, 1 process [compare build]" }
 */
export function deploymentOf(key: string): { def: DeploymentDef; compare: boolean; label: string } {
  const compare = key.endsWith(COMPARE_SUFFIX);
  const def = DEPLOYMENTS[(compare ? key.slice(0, -COMPARE_SUFFIX.length) : key) as DeploymentId];
  return { def, compare, label: compare ? `${def.label} [compare build]` : def.label };
}

/** A deployment up and preloaded, ready for rows. */
export interface RunningDeployment {
  /** Its id, or its id and {@link COMPARE_SUFFIX}. */
  readonly key: string;
  readonly def: DeploymentDef;
  /** Generator i dials servers[i % length]. */
  readonly servers: readonly RowServer[];
  /** The preloaded entries and how their values look. */
  readonly space: KeySpace;
  readonly token: string;
  /** For a row that cannot run (metrics not in this build): why; undefined when it can. */
  readonly unavailable: string | undefined;
  /** The largest VmRSS among the processes that serve. */
  rssBytes(): number | undefined;
  stop(): Promise<void>;
}

/** What starting a deployment needs from the run. */
export interface DeploymentContext {
  readonly entries: number;
  readonly preloadConcurrency: number;
  readonly sealedBytes: number;
  readonly launch: HexclaveLaunch;
  /** The cluster PostgreSQL deployments use; undefined when PostgreSQL is not available. */
  readonly postgres: BenchPostgres | undefined;
}

/**
 * Starts one deployment: its server processes, a store with a read/write
 * token, and `entries` entries preloaded through the SDK (the no-op needs
 * none: it echoes whatever key ids it is sent).
 *
 * @throws Error if a server does not start or the preload fails.
 * @example
 * const running = await startDeployment(DEPLOYMENTS.sqlite, context);
 */
export async function startDeployment(
  key: string,
  context: DeploymentContext,
  cliPath?: string,
): Promise<RunningDeployment> {
  const d = deploymentOf(key).def;
  if (d.kind === "noop") return startNoopDeployment(key, d, context);
  const processes: ServerProcess[] = [];
  const callers: RawCaller[] = [];
  const stop = async (): Promise<void> => {
    for (const caller of callers) caller.close();
    await Promise.all(processes.map((p) => p.stop()));
  };
  try {
    const masterKey = randomBytes(32).toString("base64");
    const adminToken = randomBytes(32).toString("base64url");
    const databaseUrl = d.needsPostgres
      ? await (context.postgres as BenchPostgres).createDatabase(
          `bench_${key.replace(/[^a-z0-9]/g, "_")}`,
        )
      : undefined;
    const httpPort = d.id === "sqlite-metrics" ? await freePort() : undefined;
    const serveArgs = {
      noop: [],
      "noop-2": [],
      sqlite: [],
      "sqlite-workers-2": ["--workers", "2"],
      postgres: [],
      "postgres-2": [],
      "sqlite-audit-off": ["--audit", "off"],
      "sqlite-metrics": ["--http-listen", `127.0.0.1:${httpPort}`],
    }[d.id];
    const count = d.id === "postgres-2" ? 2 : 1;
    for (let i = 0; i < count; i++) {
      // One after the other: the first migrates the database.
      processes.push(
        await startHexclave({
          ...context.launch,
          serveArgs: [...context.launch.serveArgs, ...serveArgs],
          cliPath,
          databaseUrl,
          masterKey,
          adminToken,
        }),
      );
    }
    const first = processes[0] as ServerProcess;
    const store = await createBenchStore(first.address, adminToken, "bench");
    for (const p of processes) callers.push(new RawCaller(p.address, store.token));
    const space = await preload(store, 0, context.entries, context.preloadConcurrency);
    return {
      key,
      def: d,
      servers: processes.map((server, i) => ({ server, caller: callers[i] as RawCaller })),
      space,
      token: store.token,
      unavailable:
        httpPort === undefined
          ? undefined
          : await metricsMissing(`http://127.0.0.1:${httpPort}/metrics`),
      rssBytes: () => largestRss(processes),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function startNoopDeployment(
  key: string,
  d: DeploymentDef,
  context: DeploymentContext,
): Promise<RunningDeployment> {
  const server = await startNoop(context.sealedBytes, d.id === "noop-2" ? 2 : 1);
  const token = `hxk_bench_${randomBytes(24).toString("base64url")}`;
  const caller = new RawCaller(server.address, token);
  const salt = randomBytes(limits.storeSaltBytes);
  const keys = await deriveStoreKeys(generateSecret(), "bench", salt);
  return {
    key,
    def: d,
    servers: [{ server, caller }],
    space: new KeySpace("bench", keys, Math.max(context.entries, 1)),
    token,
    unavailable: undefined,
    rssBytes: () => largestRss([server]),
    async stop() {
      caller.close();
      await server.stop();
    },
  };
}

function largestRss(processes: readonly ServerProcess[]): number | undefined {
  const sizes = processes
    .flatMap((p) => p.servingPids())
    .map(residentBytes)
    .filter((b): b is number => b !== undefined);
  return sizes.length === 0 ? undefined : Math.max(...sizes);
}

/**
 * Whether the server answers /metrics on its HTTP listener. The metrics row
 * is a hook: it measures once the build serves metrics, and says so until then.
 */
async function metricsMissing(url: string): Promise<string | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    const text = await response.text();
    if (response.ok && text.includes("# TYPE")) return undefined;
    return `GET /metrics answered ${response.status} without Prometheus text: metrics are not in this build`;
  } catch {
    return "nothing answers /metrics on --http-listen: metrics are not in this build yet";
  }
}
