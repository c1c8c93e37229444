import { type ChildProcess, spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { CLI_PATH } from "../../support/server-process.js";

/** What a CLI run printed and how it ended. */
export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A CLI run in progress. */
export interface RunningCli {
  readonly child: ChildProcess;
  /** Everything printed on stderr so far. */
  stderr(): string;
  readonly done: Promise<CliRun>;
}

/**
 * Starts the built `hexclave` CLI with only PATH and `env` in its
 * environment (no HEXCLAVE_* variable of the test process leaks in), in the
 * temp directory.
 *
 * @example
 * const run = startCli(["migrate", "--from", dir, "--to", url]);
 * const { code } = await run.done;
 */
export function startCli(args: readonly string[], env: Record<string, string> = {}): RunningCli {
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    // Not the checkout: its ./.hexclave (the default data directory) must not be found.
    cwd: tmpdir(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<CliRun>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, stderr: () => stderr, done };
}

/** Runs the CLI to its end. */
export function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  return startCli(args, env).done;
}

/** Runs the CLI with --json and returns what it printed, failing with its stderr if it did not exit 0. */
export async function runCliJson<T = Record<string, unknown>>(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<T> {
  const run = await runCli([...args, "--json"], env);
  if (run.code !== 0) throw new Error(`hexclave ${args[0]} exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}
