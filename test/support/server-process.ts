import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** The built CLI; `npm test` builds it first. */
export const CLI_PATH = fileURLToPath(new URL("../../dist/src/cli/main.js", import.meta.url));

/** A server running as its own process, as in production. */
export interface ServerProcess {
  readonly child: ChildProcess;
  readonly address: string;
  /** Every log line printed so far (JSON objects). */
  readonly logs: Record<string, unknown>[];
  /** Everything printed on stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (or signal) when the process ends. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A `hexclave serve` process from the moment it is spawned, before it serves. */
export interface StartingServer {
  readonly child: ChildProcess;
  /** Every log line printed so far (JSON objects). */
  readonly logs: Record<string, unknown>[];
  /** Resolves with the `count`th log line with this message (at once if already printed). */
  logged(msg: string, count?: number): Promise<Record<string, unknown>>;
  /** Resolves once its "hexclave serving" line says where it listens; rejects if it exits first. */
  readonly serving: Promise<ServerProcess>;
}

/**
 * Runs `hexclave serve` and resolves once its "hexclave serving" log line says
 * where it listens (no sleeping: the log line is the readiness event).
 *
 * @example
 * const p = await spawnServer({ HEXCLAVE_DATA_DIR: dir, HEXCLAVE_LISTEN: "127.0.0.1:0" });
 */
export function spawnServer(
  env: Record<string, string>,
  args: readonly string[] = [],
): Promise<ServerProcess> {
  return startServerProcess(env, args).serving;
}

/**
 * Runs `hexclave serve` and returns at once, for tests that watch what it does
 * before it serves (e.g. waiting for its database).
 *
 * @example
 * const p = startServerProcess({ HEXCLAVE_DATABASE_URL: url, HEXCLAVE_LISTEN: "127.0.0.1:50123" });
 * await p.logged("waiting for the database");
 */
export function startServerProcess(
  env: Record<string, string>,
  args: readonly string[] = [],
): StartingServer {
  const child = spawn(process.execPath, [CLI_PATH, "serve", ...args], {
    env: { PATH: process.env.PATH ?? "", HEXCLAVE_LISTEN: "127.0.0.1:0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  const waiting: {
    msg: string;
    count: number;
    resolve: (line: Record<string, unknown>) => void;
  }[] = [];
  const nth = (msg: string, count: number) => logs.filter((line) => line.msg === msg)[count - 1];
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const serving = new Promise<ServerProcess>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(entry);
      for (const w of waiting.filter((w) => nth(w.msg, w.count) !== undefined)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(nth(w.msg, w.count) as Record<string, unknown>);
      }
      if (entry.msg === "hexclave serving")
        resolve({ child, address: String(entry.address), logs, exited, stderr: () => stderr });
    });
    void exited.then(({ code, signal }) =>
      reject(
        new Error(
          `hexclave serve exited (${code ?? signal}) before serving: ${stderr}${JSON.stringify(logs)}`,
        ),
      ),
    );
  });
  // A caller that only watches the logs must not see an unhandled rejection.
  serving.catch(() => {});
  return {
    child,
    logs,
    serving,
    logged(msg, count = 1) {
      const seen = nth(msg, count);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve) => waiting.push({ msg, count, resolve }));
    },
  };
}
