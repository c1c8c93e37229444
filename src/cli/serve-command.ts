import { Command } from "commander";
import type { RunningServer } from "../server/start-server.js";

/**
 * `hexclave serve`: runs the server until SIGTERM or SIGINT, then shuts down
 * gracefully and exits 0, as a container runtime expects.
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
      "postgres://… to use PostgreSQL (HEXCLAVE_DATABASE_URL; default: embedded SQLite)",
    )
    .option(
      "--database-pool-size <n>",
      "PostgreSQL connections per server process (HEXCLAVE_DATABASE_POOL_SIZE; default 10)",
    )
    .option(
      "--master-key-file <file>",
      "file holding the 32-byte master key, raw or base64 (HEXCLAVE_MASTER_KEY_FILE, or HEXCLAVE_MASTER_KEY as base64; development only: generated in the data dir)",
    )
    .option(
      "--previous-master-key-file <file>",
      "the master key stores may still be wrapped under while `hexclave master-key rotate` runs (HEXCLAVE_PREVIOUS_MASTER_KEY_FILE)",
    )
    .option(
      "--cache-mb <mb>",
      "memory for recently used entries, still sealed by their clients (HEXCLAVE_CACHE_MB; default 32; 0 disables)",
    )
    .option(
      "--log-level <level>",
      "fatal|error|warn|info|debug|trace|silent (HEXCLAVE_LOG_LEVEL; default info)",
    )
    .action(
      async (flags: {
        listen?: string;
        dataDir?: string;
        databaseUrl?: string;
        databasePoolSize?: string;
        masterKeyFile?: string;
        previousMasterKeyFile?: string;
        logLevel?: string;
        cacheMb?: string;
      }) => {
        // Handlers go in before startup: a SIGTERM while the server is still
        // starting must end in the same clean stop (exit 0), not a default kill.
        let stopSignal: NodeJS.Signals | undefined;
        let server: RunningServer | undefined;
        const stop = (signal: NodeJS.Signals): void => {
          if (stopSignal !== undefined) {
            // A second signal while startup still runs (e.g. a hung database): give up now.
            if (server === undefined) process.exit(1);
            return;
          }
          stopSignal = signal;
          process.stderr.write(`hexclave: ${signal}: shutting down\n`);
          if (server !== undefined) closeAndExit(server);
        };
        process.on("SIGTERM", stop);
        process.on("SIGINT", stop);
        // Loaded here, not at the top: client commands must not pay for the server's modules.
        const { startServer } = await import("../server/start-server.js");
        server = await startServer(flags);
        if (stopSignal !== undefined) closeAndExit(server);
      },
    );
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
