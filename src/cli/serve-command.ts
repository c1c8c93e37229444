import { Command } from "commander";
import { startServer } from "../server/start-server.js";

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
      }) => {
        const server = await startServer(flags);
        let stopping = false;
        const stop = (signal: NodeJS.Signals): void => {
          if (stopping) return;
          stopping = true;
          process.stderr.write(`hexclave: ${signal}: shutting down\n`);
          server.close().then(
            () => process.exit(0),
            (error: unknown) => {
              process.stderr.write(`hexclave: shutdown failed: ${(error as Error).message}\n`);
              process.exit(1);
            },
          );
        };
        process.on("SIGTERM", stop);
        process.on("SIGINT", stop);
      },
    );
}
