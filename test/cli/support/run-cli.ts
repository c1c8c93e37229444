import { type ChildProcess, spawn } from "node:child_process";
import { CLI_PATH } from "../../support/server-process.js";

/** What a run of the built CLI printed, and how it ended. */
export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** How to run it. */
export interface CliRun {
  /** The environment: only PATH is inherited; `undefined` removes a variable. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Written to stdin, which is then closed; "closed" gives no stdin at all. Default: empty. */
  readonly input?: string | Buffer | "closed";
  /** Called with the child as soon as it is spawned (to signal it, say). */
  readonly started?: (child: ChildProcess) => void;
}

/**
 * Runs the built `hexclave` CLI (`npm test` builds it first) and resolves once it exits.
 *
 * @example
 * const r = await runCli(["get", "store", "key"], { env: { HEXCLAVE_SECRET: secret } });
 */
export function runCli(args: readonly string[], run: CliRun = {}): Promise<CliResult> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "" };
  for (const [k, v] of Object.entries(run.env ?? {})) if (v !== undefined) env[k] = v;
  const closed = run.input === "closed";
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    env,
    stdio: [closed ? "ignore" : "pipe", "pipe", "pipe"],
  });
  const stdout: Buffer[] = [];
  let stderr = "";
  child.stdout?.on("data", (c: Buffer) => stdout.push(c));
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  if (!closed) child.stdin?.end(run.input ?? "");
  run.started?.(child);
  return new Promise((resolve) =>
    child.on("close", (code, signal) =>
      resolve({ code, signal, stdout: Buffer.concat(stdout), stderr }),
    ),
  );
}

/** The one line a failed command printed, checked to be exactly one. */
export function oneLine(result: CliResult): string {
  const lines = result.stderr.split("\n").filter((l) => l !== "");
  if (lines.length !== 1 || result.code === 0) {
    throw new Error(`expected one error line and a failure, got ${result.code}: ${result.stderr}`);
  }
  return lines[0] as string;
}
