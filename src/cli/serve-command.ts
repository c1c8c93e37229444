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
      "--master-key-file <file>",
      "file holding the 32-byte master key, raw or base64 (else HEXCLAVE_MASTER_KEY; dev: generated in the data dir)",
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
        masterKeyFile?: string;
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
