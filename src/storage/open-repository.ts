import { join } from "node:path";
import { Kysely, Migrator, SqliteDialect } from "kysely";
import type { Repository } from "../vault/repository.js";
import { KyselyRepository } from "./kysely-repository.js";
import { migrationProvider } from "./migrations.js";
import type { Database } from "./schema.js";
import { openSqlite } from "./sqlite-database.js";

/** Where the data lives. */
export interface StorageOptions {
  /** Directory of the embedded SQLite database (`hexclave.db`). */
  readonly dataDir: string;
  /** `postgres://…` to use PostgreSQL instead of the embedded SQLite. */
  readonly databaseUrl?: string | undefined;
}

/** File name of the embedded database inside the data directory. */
export const SQLITE_FILE_NAME = "hexclave.db";

/**
 * Opens the configured database and brings its schema up to date.
 *
 * @throws Error if the database cannot be opened or a migration fails; the
 *   server must not start on a schema it does not know.
 * @example
 * const repo = await openRepository({ dataDir: "./.hexclave" });
 */
export async function openRepository(options: StorageOptions): Promise<Repository> {
  if (options.databaseUrl !== undefined) {
    throw new Error(
      "PostgreSQL storage is not available in this build: unset --database-url / HEXCLAVE_DATABASE_URL to use the embedded SQLite database",
    );
  }
  const db = openSqliteKysely(join(options.dataDir, SQLITE_FILE_NAME));
  await migrate(db, "sqlite");
  return new KyselyRepository(db, "sqlite");
}

/**
 * A kysely handle on one SQLite file, opened as {@link openSqlite} opens it
 * (WAL, synchronous=FULL). Migrations are the caller's business.
 *
 * @example
 * const repository = new KyselyRepository(openSqliteKysely(path), "sqlite");
 */
export function openSqliteKysely(path: string): Kysely<Database> {
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: openSqlite(path) }) });
}

async function migrate(db: Kysely<Database>, dialect: "sqlite" | "postgres"): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider(dialect) });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    await db.destroy();
    throw new Error(`database migration ${failed} failed`, { cause: error });
  }
}
