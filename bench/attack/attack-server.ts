import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** The built CLI: `dist/src/cli/main.js` next to `dist/bench/attack/`, or from the sources' tree. */
const CLI_PATH = fileURLToPath(
  new URL(
    import.meta.url.includes("/dist/bench/")
      ? "../../src/cli/main.js"
      : "../../dist/src/cli/main.js",
    import.meta.url,
  ),
);
/** How long a start may take before it counts as failed (a loaded 2-core machine, a WAL to replay). */
const START_TIMEOUT_MS = 60_000;

/** How long SIGTERM may take: the server promises 10 s of grace for calls in flight, then exit 0. */
export const SHUTDOWN_LIMIT_MS = 30_000;

/** Everything a server process printed, kept for the leak checks. */
export interface ServerOutput {
  /** stdout lines, raw text (JSON from pino, but kept as printed). */
  readonly stdout: string[];
  /** stderr lines, raw text (grpc-js and Node print here). */
  readonly stderr: string[];
}

/** How to start `hexclave serve` for an attack: a data dir and secrets the attacker knows. */
export interface AttackServerConfig {
  readonly dataDir: string;
  readonly adminToken: string;
  /** base64 of 32 bytes; fixed so restarts on the same data dir open it. */
  readonly masterKey: string;
  readonly logLevel?: string;
  /** More HEXCLAVE_* or NODE_* variables. */
  readonly env?: Readonly<Record<string, string>>;
}

/** One running `hexclave serve` process. */
export interface AttackServer {
  readonly address: string;
  readonly pid: number;
  readonly child: ChildProcess;
  readonly output: ServerOutput;
  /** Resolves when the process has exited and its output is all read. */
  readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** VmRSS and VmHWM (peak) in KiB, from /proc; undefined once it exited. */
  memory(): { rssKb: number; peakKb: number } | undefined;
  /** Sends a signal and waits for the exit. */
  stop(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /**
   * SIGTERM, then SIGKILL if the process has not exited within `ms`:
   * "0" for a clean exit, else what happened.
   */
  terminate(ms: number): Promise<string>;
}

/**
 * A fresh data dir and random secrets, for {@link startAttackServer}.
 *
 * @example
 * const config = await freshServerConfig("hexclave-fuzz-");
 */
export async function freshServerConfig(prefix: string): Promise<AttackServerConfig> {
  return {
    dataDir: await mkdtemp(join(tmpdir(), prefix)),
    // The shape of an operator's token, long and random; distinct from the hxk_ form.
    adminToken: `attack-admin-${randomBytes(24).toString("base64url")}`,
    masterKey: randomBytes(32).toString("base64"),
  };
}

/**
 * Starts `hexclave serve` as its own process on 127.0.0.1:0 and resolves when
 * its "hexclave serving" line says where it listens. Output is collected into
 * `output` for as long as the process lives (and into `sink`, if given).
 *
 * @throws Error with the process's stderr if it exits or stays silent before serving.
 * @example
 * const server = await startAttackServer(config, sharedOutput);
 */
export function startAttackServer(
  config: AttackServerConfig,
  sink: ServerOutput = { stdout: [], stderr: [] },
): Promise<AttackServer> {
  const child = spawn(process.execPath, [CLI_PATH, "serve"], {
    env: {
      PATH: process.env.PATH ?? "",
      HEXCLAVE_LISTEN: "127.0.0.1:0",
      HEXCLAVE_DATA_DIR: config.dataDir,
      HEXCLAVE_ADMIN_TOKEN: config.adminToken,
      HEXCLAVE_MASTER_KEY: config.masterKey,
      HEXCLAVE_LOG_LEVEL: config.logLevel ?? "info",
      ...config.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let onReady: ((address: string) => void) | undefined;
  const stdoutDone = new Promise<void>((resolve) =>
    createInterface({ input: child.stdout as NodeJS.ReadableStream })
      .on("line", (line) => {
        sink.stdout.push(line);
        if (onReady !== undefined && line.includes('"hexclave serving"')) {
          onReady(String((JSON.parse(line) as { address?: unknown }).address));
          onReady = undefined;
        }
      })
      .on("close", resolve),
  );
  const stderrDone = new Promise<void>((resolve) =>
    createInterface({ input: child.stderr as NodeJS.ReadableStream })
      .on("line", (line) => sink.stderr.push(line))
      .on("close", resolve),
  );
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const closed = Promise.all([exited, stdoutDone, stderrDone]).then(([exit]) => exit);
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`hexclave serve printed no "hexclave serving" line within 60 s`));
    }, START_TIMEOUT_MS);
    onReady = (address) => {
      clearTimeout(timer);
      resolve({
        address,
        pid: child.pid as number,
        child,
        output: sink,
        closed,
        alive,
        memory: () => (alive() ? readMemory(child.pid as number) : undefined),
        async stop(signal) {
          if (alive()) child.kill(signal);
          return closed;
        },
        async terminate(ms) {
          if (!alive()) return `already exited (${child.exitCode ?? child.signalCode})`;
          child.kill("SIGTERM");
          let timer: NodeJS.Timeout | undefined;
          const late = new Promise<"late">((resolve) => {
            timer = setTimeout(() => resolve("late"), ms);
          });
          const exit = await Promise.race([closed, late]);
          clearTimeout(timer);
          if (exit !== "late") return `${exit.code ?? exit.signal}`;
          child.kill("SIGKILL");
          await closed;
          return `no exit ${ms / 1000} s after SIGTERM (killed)`;
        },
      });
    };
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(
        new Error(
          `hexclave serve exited (${code ?? signal}) before serving: ${sink.stderr.slice(-20).join("\n")}`,
        ),
      );
    });
  });
}

function readMemory(pid: number): { rssKb: number; peakKb: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (name: string): number =>
      Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1]);
    return { rssKb: field("VmRSS"), peakKb: field("VmHWM") };
  } catch {
    return undefined;
  }
}
