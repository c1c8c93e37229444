import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { childPids } from "./cpu-sampler.js";

/** The built CLI (`npm run bench` builds it first). */
const CLI_PATH = fileURLToPath(new URL("../src/cli/main.js", import.meta.url));
/** The built no-op baseline server. */
const NOOP_PATH = fileURLToPath(new URL("./noop-server.js", import.meta.url));
/** How long a server may take to print its ready line. */
const START_TIMEOUT_MS = 30_000;
/** How long a server may take to stop after SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 20_000;

/** A server under test, running as its own process. */
export interface ServerProcess {
  /** "hexclave" or "noop": how the report names it. */
  readonly name: string;
  /** `127.0.0.1:<port>`. */
  readonly address: string;
  readonly pid: number;
  /**
   * The processes that serve calls: this one, or, for a `--workers` group,
   * the workers its primary forked (the primary only hands out connections).
   */
  servingPids(): number[];
  /** Whether the process is still running. */
  alive(): boolean;
  /** SIGTERM, then waits for a graceful exit (SIGKILL after 20 s); removes its temp dir. */
  stop(): Promise<void>;
}

/** The real server plus the admin token it was started with. */
export interface HexclaveProcess extends ServerProcess {
  readonly adminToken: string;
}

/** How to start one `hexclave serve`. */
export interface HexclaveOptions {
  /** Flags for `node` before the CLI, e.g. `--cpu-prof`. */
  readonly nodeArgs?: readonly string[] | undefined;
  /** `HEXCLAVE_CACHE_MB`; undefined keeps the server's default. */
  readonly cacheMb?: number | undefined;
  /** The built CLI to run; default this build's. Another build's, to compare the two in one run. */
  readonly cliPath?: string | undefined;
  /** More `serve` flags, e.g. `["--workers", "2"]` or `["--audit", "off"]`. */
  readonly serveArgs?: readonly string[] | undefined;
  /** `postgres://…`; undefined: SQLite in the server's own temp data directory. */
  readonly databaseUrl?: string | undefined;
  /** The master key (base64) and admin token, for servers that must share them (one database). */
  readonly masterKey?: string | undefined;
  readonly adminToken?: string | undefined;
}

/**
 * Starts `hexclave serve` as production runs it: its own process, SQLite in a
 * fresh temp dir, a random master key and admin token. Resolves once the
 * "hexclave serving" log line says where it listens.
 *
 * The log level is `info`: the ready line is logged at info, and the server
 * logs calls only at debug, so this costs nothing per call.
 *
 * @throws Error if the process exits or stays silent for 30 s before serving.
 * @example
 * const server = await startHexclave({ nodeArgs: ["--cpu-prof", "--cpu-prof-dir=/tmp/prof"] });
 */
export async function startHexclave(options: HexclaveOptions = {}): Promise<HexclaveProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), "hexclave-bench-"));
  const adminToken = options.adminToken ?? randomBytes(32).toString("base64url");
  const server = await startNodeServer(
    "hexclave",
    dataDir,
    [
      ...(options.nodeArgs ?? []),
      options.cliPath ?? CLI_PATH,
      "serve",
      ...(options.serveArgs ?? []),
    ],
    {
      HEXCLAVE_LISTEN: "127.0.0.1:0",
      HEXCLAVE_DATA_DIR: dataDir,
      HEXCLAVE_ADMIN_TOKEN: adminToken,
      HEXCLAVE_MASTER_KEY: options.masterKey ?? randomBytes(32).toString("base64"),
      HEXCLAVE_LOG_LEVEL: "info",
      ...(options.cacheMb === undefined ? {} : { HEXCLAVE_CACHE_MB: String(options.cacheMb) }),
      ...(options.databaseUrl === undefined ? {} : { HEXCLAVE_DATABASE_URL: options.databaseUrl }),
    },
    "hexclave serving",
  );
  return { ...server, adminToken };
}

/**
 * Starts the no-op baseline server (bench/noop-server.ts) in its own process.
 *
 * @param sealedBytes length of the sealed values it answers with, to match the real envelopes.
 * @param workers server processes on the one listener (node:cluster, round robin).
 * @throws Error if the process exits or stays silent for 30 s before serving.
 * @example
 * const noop = await startNoop(345);
 */
export async function startNoop(sealedBytes: number, workers = 1): Promise<ServerProcess> {
  const dir = await mkdtemp(join(tmpdir(), "hexclave-bench-noop-"));
  return startNodeServer(
    "noop",
    dir,
    [
      NOOP_PATH,
      ...["--listen", "127.0.0.1:0", "--sealed-bytes", String(sealedBytes)],
      ...["--workers", String(workers)],
    ],
    {},
    "noop serving",
  );
}

function startNodeServer(
  name: string,
  dir: string,
  args: readonly string[],
  env: Record<string, string>,
  readyMessage: string,
): Promise<ServerProcess> {
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    // HEXCLAVE_BENCH_SERVER_STDERR=1: pass the servers' stderr through, for debugging the bench.
    if (process.env.HEXCLAVE_BENCH_SERVER_STDERR === "1") process.stderr.write(chunk);
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${name} server printed no "${readyMessage}" line within 30 s: ${stderr}`));
    }, START_TIMEOUT_MS);
    // Keep reading stdout for the process's whole life, so its log writes never block.
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      const entry = parseJsonLine(line);
      if (entry?.msg !== readyMessage) return;
      clearTimeout(timer);
      resolve(serverHandle(name, String(entry.address), child, stop));
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${name} server exited (${child.exitCode ?? child.signalCode}): ${stderr}`));
    });
  });
}

function serverHandle(
  name: string,
  address: string,
  child: ChildProcess,
  stop: () => Promise<void>,
): ServerProcess {
  const pid = child.pid as number;
  let workers: number[] | undefined;
  return {
    name,
    address,
    pid,
    servingPids() {
      // A cluster primary's workers are there once it says it serves; they do not change.
      workers ??= childPids(pid);
      return workers.length === 0 ? [pid] : workers;
    },
    alive: () => child.exitCode === null && child.signalCode === null,
    stop,
  };
}

function parseJsonLine(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
