import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { CLI_PATH } from "./repo-paths.js";

/** A `hexclave serve` process with its HTTP listener, on free loopback ports. */
export interface HexclaveProcess {
  /** The gRPC address to dial. */
  readonly address: string;
  /** The HTTP listener (`--http-listen`): /metrics, /healthz, /readyz. */
  readonly httpAddress: string;
  /** The admin token it was started with (HEXCLAVE_ADMIN_TOKEN). */
  readonly adminToken: string;
  /** Stops it with SIGTERM (a graceful stop) and deletes its data directory. */
  stop(): Promise<void>;
}

/**
 * Runs the built CLI's `hexclave serve --http-listen 127.0.0.1:0` over a
 * fresh data directory (SQLite, a development master key) and resolves once
 * its "hexclave serving" log line says where it listens.
 *
 * @throws Error with its output if it exits before serving.
 * @example
 * const hexclave = await startHexclave();
 * console.log(hexclave.httpAddress); // 127.0.0.1:40123
 * await hexclave.stop();
 */
export async function startHexclave(extraArgs: readonly string[] = []): Promise<HexclaveProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), "hexclave-grafana-"));
  const adminToken = `grafana-admin-${randomBytes(24).toString("base64url")}`;
  const child = spawn(
    process.execPath,
    [CLI_PATH, "serve", "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", ...extraArgs],
    {
      env: {
        PATH: process.env.PATH ?? "",
        HEXCLAVE_DATA_DIR: dataDir,
        HEXCLAVE_ADMIN_TOKEN: adminToken,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    const serving = await servingLine(child, exited);
    return {
      address: String(serving.address),
      httpAddress: String(serving.http),
      adminToken,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
        await exited;
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    child.kill("SIGKILL");
    await exited;
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** The "hexclave serving" log line: the event that says the server is ready. */
function servingLine(child: ChildProcess, exited: Promise<void>): Promise<Record<string, unknown>> {
  let output = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      if (output.length < 20_000) output += `${line}\n`;
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (entry.msg === "hexclave serving") resolve(entry);
    });
    void exited.then(() =>
      reject(new Error(`hexclave serve exited before serving (is it built?):\n${output}`)),
    );
  });
}
