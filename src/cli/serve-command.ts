import { Command } from "commander";
import type { ServerFlags } from "../server/server-config.js";
import type { RunningServer } from "../server/start-server.js";
import { CliError } from "./cli-output.js";

/** `hexclave serve`'s flags: the server's, plus how many processes to run. */
export type ServeFlags = ServerFlags & { readonly workers?: string };

/**
 * `hexclave serve`: runs the server until SIGTERM or SIGINT, then shuts down
 * gracefully and exits 0, as a container runtime expects. With `--workers N`
 * it runs N server processes on one listener (serve-workers.ts).
 */
export function serveCommand(): Command {
  return new Command("serve")
    .description("run the Hexclave gRPC server (flag, then environment, then default)")
    .option(
      "--listen <address>",
      "host:port or unix:/path (HEXCLAVE_LISTEN; default 127.0.0.1:50051)",
    )
    .option(
      "--data-dir <dir>",
      "SQLite database, dev master key, first admin token (HEXCLAVE_DATA_DIR; default ./.hexclave)",
    )
    .option(
      "--database-url <url>",
      "postgres://… to use PostgreSQL (HEXCLAVE_DATABASE_URL; default: embedded SQLite); PG* variables fill in the rest",
    )
    .option(
      "--database-pool-size <n>",
      "PostgreSQL connections per server process (HEXCLAVE_DATABASE_POOL_SIZE; default 10)",
    )
    .option(
      "--workers <n>",
      "server processes sharing the listener, for every core (HEXCLAVE_WORKERS; default 1)",
    )
    .option(
      "--master-key-file <file>",
      "file holding the 32-byte master key, raw or base64 (HEXCLAVE_MASTER_KEY_FILE, or HEXCLAVE_MASTER_KEY as base64; development only: generated in the data dir)",
    )
    .option(
      "--previous-master-key-file <file>",
      "a master key stores may still be wrapped under while `hexclave master-key rotate` runs (HEXCLAVE_PREVIOUS_MASTER_KEY_FILE)",
    )
    .option("--tls-cert <file>", "the server's TLS certificate, PEM (HEXCLAVE_TLS_SERVER_CERT)")
    .option("--tls-key <file>", "its private key, PEM (HEXCLAVE_TLS_SERVER_KEY)")
    .option(
      "--tls-client-ca <file>",
      "require client certificates signed by this CA: mTLS (HEXCLAVE_TLS_CLIENT_CA)",
    )
    .option(
      "--insecure-plaintext",
      "allow plaintext on a non-loopback address, e.g. behind a service mesh (HEXCLAVE_INSECURE_PLAINTEXT=1)",
    )
    .option(
      "--http-listen <address>",
      "serve /metrics, /healthz, /readyz (and the dashboard) here (HEXCLAVE_HTTP_LISTEN; default off)",
    )
    .option("--dashboard", "serve the web dashboard on the HTTP listener (HEXCLAVE_DASHBOARD=1)")
    .option(
      "--metrics-store-labels",
      "label metrics with store ids (HEXCLAVE_METRICS_STORE_LABELS=1; default off: ids are names)",
    )
    .option("--audit <on|off>", "record every call in the audit log (HEXCLAVE_AUDIT; default on)")
    .option(
      "--audit-stdout",
      "also print each audit record as a JSON line (HEXCLAVE_AUDIT_STDOUT=1)",
    )
    .option(
      "--audit-retention <duration>",
      "prune audit records older than this, e.g. 90d (HEXCLAVE_AUDIT_RETENTION; default: keep)",
    )
    .option(
      "--cache-mb <mb>",
      "memory for recently used entries, still sealed by their clients (HEXCLAVE_CACHE_MB; default 32; 0 disables)",
    )
    .option(
      "--log-level <level>",
      "fatal|error|warn|info|debug|trace|silent (HEXCLAVE_LOG_LEVEL; default info)",
    )
    .action(async (flags: ServeFlags) => {
      const workers = workerCount(flags.workers ?? process.env.HEXCLAVE_WORKERS);
      if (workers > 1 || process.env.HEXCLAVE_WORKER_OF !== undefined) {
        const { serveWorkers } = await import("./serve-workers.js");
        await serveWorkers(flags, workers);
        return;
      }
      await serveOne(flags);
    });
}

/**
 * Runs one server in this process until a signal stops it. Handlers go in
 * before start-up: a SIGTERM while the server is still starting (waiting for
 * its database, say) ends in the same clean stop, exit 0.
 */
export async function serveOne(flags: ServerFlags, workerOf?: string): Promise<RunningServer> {
  const starting = new AbortController();
  let stopSignal: NodeJS.Signals | undefined;
  let server: RunningServer | undefined;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopSignal !== undefined) {
      // A second signal while start-up still runs: give up now.
      if (server === undefined) process.exit(1);
      return;
    }
    stopSignal = signal;
    process.stderr.write(`hexclave: ${signal}: shutting down\n`);
    if (server === undefined) starting.abort();
    else closeAndExit(server);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  // Loaded here, not at the top: client commands must not pay for the server's modules.
  const { startServer } = await import("../server/start-server.js");
  try {
    server = await startServer({
      ...flags,
      signal: starting.signal,
      ...(workerOf === undefined ? {} : { workerOf }),
    });
  } catch (error) {
    if (starting.signal.aborted) process.exit(0);
    throw error;
  }
  if (stopSignal !== undefined) closeAndExit(server);
  return server;
}

function closeAndExit(server: RunningServer): void {
  server.close().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`hexclave: shutdown failed: ${(error as Error).message}\n`);
      process.exit(1);
    },
  );
}

/** The number of server processes: 1 to 64. */
export function workerCount(text: string | undefined): number {
  if (text === undefined || text === "") return 1;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 64) {
    throw new CliError(
      `--workers / HEXCLAVE_WORKERS must be a whole number from 1 to 64, got "${text}"`,
    );
  }
  return n;
}
