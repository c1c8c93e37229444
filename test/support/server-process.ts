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
  const child = spawn(process.execPath, [CLI_PATH, "serve", ...args], {
    env: { PATH: process.env.PATH ?? "", HEXCLAVE_LISTEN: "127.0.0.1:0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(entry);
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
}
