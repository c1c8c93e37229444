import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

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
  /** Whether the process is still running. */
  alive(): boolean;
  /** SIGTERM, then waits for a graceful exit (SIGKILL after 20 s); removes its temp dir. */
  stop(): Promise<void>;
}

/** The real server plus the admin token it was started with. */
export interface HexclaveProcess extends ServerProcess {
  readonly adminToken: string;
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
export async function startHexclave(
  options: { nodeArgs?: readonly string[]; cacheMb?: number | undefined } = {},
): Promise<HexclaveProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), "hexclave-bench-"));
  const adminToken = randomBytes(32).toString("base64url");
  const server = await startNodeServer(
    "hexclave",
    dataDir,
    [...(options.nodeArgs ?? []), CLI_PATH, "serve"],
    {
      HEXCLAVE_LISTEN: "127.0.0.1:0",
      HEXCLAVE_DATA_DIR: dataDir,
      HEXCLAVE_ADMIN_TOKEN: adminToken,
      HEXCLAVE_MASTER_KEY: randomBytes(32).toString("base64"),
      HEXCLAVE_LOG_LEVEL: "info",
      ...(options.cacheMb === undefined ? {} : { HEXCLAVE_CACHE_MB: String(options.cacheMb) }),
    },
    "hexclave serving",
  );
  return { ...server, adminToken };
}

/**
 * Starts the no-op baseline server (bench/noop-server.ts) in its own process.
 *
 * @param sealedBytes length of the sealed values it answers with, to match the real envelopes.
 * @throws Error if the process exits or stays silent for 30 s before serving.
 * @example
 * const noop = await startNoop(345);
 */
export async function startNoop(sealedBytes: number): Promise<ServerProcess> {
  const dir = await mkdtemp(join(tmpdir(), "hexclave-bench-noop-"));
  return startNodeServer(
    "noop",
    dir,
    [NOOP_PATH, "--listen", "127.0.0.1:0", "--sealed-bytes", String(sealedBytes)],
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
  return {
    name,
    address,
    pid: child.pid as number,
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
