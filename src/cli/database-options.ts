import type { Command } from "commander";
import { pino } from "pino";
import { loadMasterKeys, type MasterKeys } from "../server/master-key.js";
import { resolveServerConfig, type ServerConfig } from "../server/server-config.js";

/** The flags of commands that open the database themselves (verify, backup, migrate, audit…). */
export interface DatabaseFlags {
  readonly dataDir?: string;
  readonly databaseUrl?: string;
  readonly masterKeyFile?: string;
}

/** Adds `--data-dir`, `--database-url` and `--master-key-file`, read like `hexclave serve` reads them. */
export function databaseOptions(command: Command, options: { masterKey?: boolean } = {}): Command {
  command
    .option(
      "--data-dir <dir>",
      "the server's data directory (HEXCLAVE_DATA_DIR; default ./.hexclave)",
    )
    .option(
      "--database-url <url>",
      "postgres://… when the server runs on PostgreSQL (HEXCLAVE_DATABASE_URL)",
    );
  if (options.masterKey !== false) {
    command.option(
      "--master-key-file <file>",
      "the server's master key (HEXCLAVE_MASTER_KEY_FILE or HEXCLAVE_MASTER_KEY; else the development key in the data dir)",
    );
  }
  return command;
}

/** Where the database is, resolved as the server resolves it. */
export function databaseConfig(flags: DatabaseFlags): ServerConfig {
  return resolveServerConfig(
    { dataDir: flags.dataDir, databaseUrl: flags.databaseUrl, masterKeyFile: flags.masterKeyFile },
    process.env,
  );
}

/**
 * The server's master keys, as the server would load them — except that a
 * missing development key is an error here, never made.
 */
export function databaseMasterKeys(config: ServerConfig): Promise<MasterKeys> {
  return loadMasterKeys(config, pino({ level: "silent" }), { createDevelopmentKey: false });
}
