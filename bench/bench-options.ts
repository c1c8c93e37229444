import { parseArgs } from "node:util";
import { DEPLOYMENT_IDS, type DeploymentId } from "./deployments.js";
import { WORKLOADS, type Workload } from "./workloads.js";

/** What one run does, resolved from flags and frozen. */
export interface BenchOptions {
  readonly quick: boolean;
  /** Entries preloaded for the main rows. */
  readonly entries: number;
  readonly concurrency: readonly number[];
  readonly workloads: readonly Workload[];
  readonly servers: readonly ("hexclave" | "noop")[];
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly maxGenerators: number;
  readonly preloadConcurrency: number;
  /** Store sizes for the latency-vs-size section, smallest first; empty skips it. */
  readonly sizes: readonly number[];
  readonly clientCost: boolean;
  /** undefined: no JSON; "-": JSON on stdout (the table goes to stderr); else a file path. */
  readonly json: string | undefined;
  /** Whether to run the main rows (every workload × concurrency, Hexclave vs the no-op). */
  readonly main: boolean;
  /** The deployments section: which deployments; empty skips it. */
  readonly deployments: readonly DeploymentId[];
  /** Rounds of the deployments section. */
  readonly rounds: number;
  /** Entries preloaded into each deployment's store. */
  readonly deploymentEntries: number;
  /** Another build's dist directory, run beside this one in the deployments section. */
  readonly compareBuild: string | undefined;
  /** Calls per token kind in the auth-timing section; 0 skips it. */
  readonly authCalls: number;
  /** Directory for the real server's `node --cpu-prof` profiles. */
  readonly cpuProfDir: string | undefined;
  /** How the real server runs: extra `node` flags, and its entry cache size. */
  readonly server: HexclaveLaunch;
}

/** Extra settings for the real server's process, beyond what production defaults give it. */
export interface HexclaveLaunch {
  /** Flags for `node` before the CLI, e.g. `--optimize-for-size`. */
  readonly nodeArgs: readonly string[];
  /** `HEXCLAVE_CACHE_MB`; undefined keeps the server's default. */
  readonly cacheMb: number | undefined;
  /** More `hexclave serve` flags for every real server, e.g. `--audit off`. */
  readonly serveArgs: readonly string[];
}

/** `--help` text. */
export const USAGE = `npm run bench -- [flags]

  --quick                   a few seconds: ${"2,000"} entries, concurrency 16, 1 s rows, no size section
  --entries N               entries preloaded for the main rows (default 100000)
  --concurrency LIST        calls in flight per row (default 1,16,64,256)
  --workloads LIST          get,set,batch,mix (default all)
  --servers LIST            hexclave,noop (default both)
  --duration S              measured seconds per row (default 5)
  --warmup S                warm-up seconds before each row's window (default 1)
  --generators N            h2load processes per operation at most (default 8)
  --preload-concurrency N   SDK calls in flight while preloading (default 64)
  --small N                 smaller store of the latency-vs-size section (default 10000)
  --large N                 larger store (default 1000000)
  --skip-large              measure the smaller store only
  --skip-sizes              skip the latency-vs-size section
  --skip-client-cost        skip the client-cost micro-benchmarks
  --skip-main               skip the main rows (every workload × concurrency, Hexclave vs no-op)
  --deployments LIST        deployments section, GetValue and SetValue @64 (default all):
                            ${DEPLOYMENT_IDS.join(",")}
  --skip-deployments        skip the deployments section
  --rounds N                rounds of the deployments section (default 3)
  --deployment-entries N    entries preloaded per deployment (default 10000)
  --compare-build DIR       also run every real deployment from another build's dist/ (before/after in one run)
  --auth-calls N            calls per token kind in the auth-timing section (default 10000)
  --skip-auth-timing        skip the auth-timing section
  --json [PATH]             also write the results as JSON (no PATH or "-": stdout)
  --cpu-prof DIR            run the real server under node --cpu-prof, profiles in DIR
  --server-node-args=ARGS   node flags for the real server, space-separated (the = is needed: --server-node-args=--optimize-for-size)
  --serve-args=ARGS         more hexclave serve flags for every real server, space-separated (--serve-args="--audit off")
  --cache-mb N              the real server's entry cache (HEXCLAVE_CACHE_MB; default: its own, 32)
  --help                    this text
`;

/**
 * Parses the bench's flags.
 *
 * @throws Error naming the flag and what it accepts.
 * @example
 * const options = parseBenchOptions(process.argv.slice(2));
 */
export function parseBenchOptions(argv: readonly string[]): BenchOptions | "help" {
  // `--json` takes an optional path, which parseArgs cannot express.
  const args = argv.flatMap((arg, i) =>
    arg === "--json" && (argv[i + 1] === undefined || argv[i + 1]?.startsWith("--"))
      ? ["--json", "-"]
      : [arg],
  );
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      quick: { type: "boolean", default: false },
      entries: { type: "string" },
      concurrency: { type: "string" },
      workloads: { type: "string" },
      servers: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      generators: { type: "string" },
      "preload-concurrency": { type: "string" },
      small: { type: "string" },
      large: { type: "string" },
      "skip-large": { type: "boolean", default: false },
      "skip-sizes": { type: "boolean", default: false },
      "skip-client-cost": { type: "boolean", default: false },
      "skip-main": { type: "boolean", default: false },
      deployments: { type: "string" },
      "skip-deployments": { type: "boolean", default: false },
      rounds: { type: "string" },
      "deployment-entries": { type: "string" },
      "auth-calls": { type: "string" },
      "compare-build": { type: "string" },
      "skip-auth-timing": { type: "boolean", default: false },
      json: { type: "string" },
      "cpu-prof": { type: "string" },
      "server-node-args": { type: "string" },
      "cache-mb": { type: "string" },
      "serve-args": { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return "help";
  const quick = values.quick;
  const small = int("--small", values.small, 10_000);
  const large = int("--large", values.large, 1_000_000);
  const sizes =
    quick || values["skip-sizes"] ? [] : values["skip-large"] ? [small] : [small, large];
  return Object.freeze({
    quick,
    entries: int("--entries", values.entries, quick ? 2_000 : 100_000),
    concurrency: list("--concurrency", values.concurrency, quick ? "16" : "1,16,64,256").map((c) =>
      int("--concurrency", c, 1),
    ),
    workloads: list("--workloads", values.workloads, WORKLOADS.join(",")).map((w) =>
      oneOf("--workloads", w, WORKLOADS),
    ),
    servers: list("--servers", values.servers, "hexclave,noop").map((s) =>
      oneOf("--servers", s, ["hexclave", "noop"] as const),
    ),
    warmupMs: seconds("--warmup", values.warmup, quick ? 0.25 : 1),
    durationMs: seconds("--duration", values.duration, quick ? 1 : 5),
    maxGenerators: int("--generators", values.generators, 8),
    preloadConcurrency: int("--preload-concurrency", values["preload-concurrency"], 64),
    sizes,
    clientCost: !values["skip-client-cost"],
    main: !values["skip-main"],
    deployments: values["skip-deployments"]
      ? []
      : list("--deployments", values.deployments, DEPLOYMENT_IDS.join(",")).map((d) =>
          oneOf("--deployments", d, DEPLOYMENT_IDS),
        ),
    rounds: int("--rounds", values.rounds, quick ? 1 : 3),
    deploymentEntries: int(
      "--deployment-entries",
      values["deployment-entries"],
      quick ? 500 : 10_000,
    ),
    compareBuild: values["compare-build"],
    authCalls: values["skip-auth-timing"]
      ? 0
      : int("--auth-calls", values["auth-calls"], quick ? 300 : 10_000),
    json: values.json,
    cpuProfDir: values["cpu-prof"],
    server: Object.freeze({
      nodeArgs: (values["server-node-args"] ?? "").split(" ").filter((a) => a !== ""),
      serveArgs: (values["serve-args"] ?? "").split(" ").filter((a) => a !== ""),
      cacheMb:
        values["cache-mb"] === undefined ? undefined : whole("--cache-mb", values["cache-mb"]),
    }),
  });
}

function int(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`${flag} expects a positive integer, got "${value}"`);
  return n;
}

function whole(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`${flag} expects a whole number ≥ 0, got "${value}"`);
  return n;
}

function seconds(flag: string, value: string | undefined, fallback: number): number {
  const s = value === undefined ? fallback : Number(value);
  if (!Number.isFinite(s) || s < 0) throw new Error(`${flag} expects seconds ≥ 0, got "${value}"`);
  return Math.round(s * 1000);
}

function list(flag: string, value: string | undefined, fallback: string): string[] {
  const items = (value ?? fallback).split(",").filter((s) => s !== "");
  if (items.length === 0) throw new Error(`${flag} expects a comma-separated list`);
  return items;
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new Error(`${flag} accepts ${allowed.join(", ")}; got "${value}"`);
  }
  return value as T;
}
