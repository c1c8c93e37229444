import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/**
 * Runs h2load (Debian package nghttp2-client) as a lean gRPC load generator:
 * one process, one HTTP/2 connection, `streams` requests in flight, sending
 * one pre-encoded gRPC body over and over. h2load costs a few µs per request,
 * where a grpc-js client costs ≈165 µs, so it can reach the server's limit.
 */

/** What one generator process does. */
export interface H2loadSpec {
  /** `host:port`. */
  readonly address: string;
  /** HTTP/2 path, e.g. "/hexclave.v1.VaultService/GetValue". */
  readonly path: string;
  /** File holding the gRPC-framed request body. */
  readonly bodyFile: string;
  /** Requests in flight on the one connection. */
  readonly streams: number;
  /** How long it sends, in ms. */
  readonly durationMs: number;
  /** Bearer token sent in `authorization`. */
  readonly token: string;
  /** Where h2load appends one line per request: start (µs since epoch), status, latency (µs). */
  readonly logFile: string;
}

/** h2load's own counts for its whole run (warm-up included). */
export interface H2loadOutcome {
  readonly exitCode: number | null;
  readonly done: number;
  readonly succeeded: number;
  /** failed + errored + timeout, as h2load counts them (transport-level failures). */
  readonly failed: number;
  /** Responses with an HTTP status other than 2xx. */
  readonly non2xx: number;
  /** DATA frame payload bytes received: 5 + message length per gRPC response that carried one. */
  readonly dataBytes: number;
  /** The end of h2load's output, for error messages. */
  readonly output: string;
}

/** A running generator. */
export interface H2loadProcess {
  readonly pid: number;
  readonly outcome: Promise<H2loadOutcome>;
}

/**
 * The h2load binary on PATH, or undefined.
 *
 * @throws never.
 * @example
 * const h2load = findH2load() ?? fail("h2load not found: install nghttp2-client");
 */
export function findH2load(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, "h2load");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Starts one h2load process sending `spec.bodyFile` as gRPC calls.
 *
 * gRPC answers errors with HTTP 200 and a grpc-status trailer, which h2load
 * counts as success: callers must check calls separately (see row-check.ts)
 * and compare {@link H2loadOutcome.dataBytes} with the response size.
 *
 * @throws never; a failure to start shows as a non-zero exit code.
 * @example
 * const gen = spawnH2load("/usr/bin/h2load", { address, path, bodyFile, streams: 16, durationMs: 6000, token, logFile });
 * const outcome = await gen.outcome;
 */
export function spawnH2load(binary: string, spec: H2loadSpec): H2loadProcess {
  const child = spawn(
    binary,
    [
      "--clients=1",
      "--threads=1",
      `--max-concurrent-streams=${spec.streams}`,
      `--duration=${Math.max(1, Math.round(spec.durationMs))}ms`,
      `--data=${spec.bodyFile}`,
      `--log-file=${spec.logFile}`,
      "--header=content-type: application/grpc",
      "--header=te: trailers",
      `--header=authorization: Bearer ${spec.token}`,
      `http://${spec.address}${spec.path}`,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const outcome = new Promise<H2loadOutcome>((resolve) => {
    child.once("error", (error) => {
      output += `\n${error.message}`;
    });
    child.once("close", (code) => resolve(parseOutcome(code, output)));
  });
  return { pid: child.pid ?? -1, outcome };
}

function parseOutcome(exitCode: number | null, output: string): H2loadOutcome {
  const count = (pattern: RegExp): number => Number(pattern.exec(output)?.[1] ?? Number.NaN);
  const failed = count(/(\d+) failed,/) + count(/(\d+) errored,/) + count(/(\d+) timeout/);
  return {
    exitCode,
    done: count(/(\d+) done,/),
    succeeded: count(/(\d+) succeeded,/),
    failed,
    non2xx: count(/(\d+) 3xx,/) + count(/(\d+) 4xx,/) + count(/(\d+) 5xx/),
    dataBytes: count(/\((\d+)\) data/),
    output: output.slice(-2000),
  };
}
