import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, Metadata } from "@grpc/grpc-js";
import { HealthClient } from "../../gen/grpc/health/v1/health.js";
import { CLI_PATH, type ServerProcess, spawnServer } from "./server-process.js";

/**
 * Lifecycle helpers around spawnServer for tests that signal, kill and
 * restart the built `hexclave serve` process.
 */

/** A spawned server plus a promise that settles once it exited and its output is all read. */
export interface ControlledServer extends ServerProcess {
  readonly closed: Promise<void>;
}

/** A fresh, empty data directory. */
export function tempDataDir(prefix = "hexclave-proc-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Resolves once the server has answered one Health check (or failed to: it may be going away). */
export function answered(address: string): Promise<void> {
  const health = new HealthClient(address, credentials.createInsecure());
  return new Promise<void>((resolve) => {
    health.check({ service: "" }, new Metadata(), { deadline: Date.now() + 20_000 }, () =>
      resolve(),
    );
  }).finally(() => health.close());
}

/** Starts `hexclave serve` and resolves once it is serving. */
export async function launch(
  env: Record<string, string>,
  args: readonly string[] = [],
): Promise<ControlledServer> {
  const p = await spawnServer(env, args);
  // Registered at once: the process is serving, so it cannot have closed yet.
  const closed = once(p.child, "close").then(() => undefined);
  return { ...p, closed };
}

/**
 * The servers a test file starts and the directories it makes, so one
 * afterAll can kill and remove whatever a failing test left behind.
 *
 * @example
 * const fleet = serverFleet();
 * afterAll(() => fleet.cleanup());
 * const p = await fleet.start({ HEXCLAVE_DATA_DIR: fleet.track(dir) });
 */
export function serverFleet(): {
  start(env: Record<string, string>, args?: readonly string[]): Promise<ControlledServer>;
  track(dir: string): string;
  cleanup(): Promise<void>;
} {
  const running = new Set<ControlledServer>();
  const dirs: string[] = [];
  return {
    async start(env, args = []) {
      const p = await launch(env, args);
      running.add(p);
      void p.closed.then(() => running.delete(p));
      return p;
    },
    track(dir) {
      dirs.push(dir);
      return dir;
    },
    async cleanup() {
      for (const p of running) await stop(p, "SIGKILL");
      for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Sends `signal` and waits until the process has exited and its logs are all read.
 *
 * Graceful signals wait for one answered Health check first, so a test never
 * signals a server that is still starting (`hexclave serve` handles a signal
 * during startup too, but the test would then be about something else).
 */
export async function stop(
  p: ControlledServer,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (signal !== "SIGKILL") await answered(p.address);
  p.child.kill(signal);
  const [exit] = await Promise.all([p.exited, p.closed]);
  return exit;
}

/**
 * Runs `hexclave serve` expecting it to refuse to start; resolves with its
 * exit code and output. Kills it (and fails the expectation) if it serves.
 */
export function runToExit(
  env: Record<string, string>,
  args: readonly string[] = [],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI_PATH, "serve", ...args], {
    env: { PATH: process.env.PATH ?? "", HEXCLAVE_LISTEN: "127.0.0.1:0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    if (stdout.includes('"msg":"hexclave serving"')) child.kill("SIGKILL");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return once(child, "close").then(([code]) => ({ code: code as number | null, stdout, stderr }));
}

/** The JSON log lines of a spawned server with this message. */
export function logsWith(p: ServerProcess, msg: string): Record<string, unknown>[] {
  return p.logs.filter((line) => line.msg === msg);
}
