import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, PostgresDialect, SqliteDialect, sql } from "kysely";
import pg from "pg";
import type { StorageReads } from "../vault/storage-port.js";
import { HotReads, KyselyReads } from "./kysely-reads.js";
import type { Database } from "./schema.js";
import { SQLITE_FILE_NAME } from "./sqlite-storage.js";

/** A database opened to look at, never to write: for verify, backup checks and exports. */
export interface InspectedStorage {
  readonly reads: StorageReads;
  /** What the engine's own consistency check reports: ["ok"] when it finds nothing. */
  integrityCheck(): Promise<string[]>;
  /** The schema's migrations, oldest first. */
  migrations(): Promise<string[]>;
  /** The kysely handle, for logical exports. */
  readonly db: Kysely<Database>;
  close(): Promise<void>;
}

/** Where to look. */
export interface InspectOptions {
  /** A data directory (its hexclave.db) or an SQLite file. */
  readonly sqliteFile?: string | undefined;
  readonly dataDir?: string | undefined;
  readonly databaseUrl?: string | undefined;
}

/**
 * Opens a database read-only, alongside a running server (SQLite in WAL mode
 * lets a reader in while the server writes; PostgreSQL is shared anyway).
 * Nothing is migrated, locked or registered.
 *
 * @throws Error if the database cannot be opened.
 * @example
 * const db = await inspectStorage({ dataDir: "/data" });
 */
export async function inspectStorage(options: InspectOptions): Promise<InspectedStorage> {
  if (options.databaseUrl !== undefined) {
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 2 });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    await sql`select 1`.execute(db);
    return {
      reads: new KyselyReads(db, new HotReads(db)),
      db,
      // PostgreSQL checks pages as it reads them (and with data checksums, on disk).
      integrityCheck: async () => ["ok"],
      migrations: () => migrationsOf(db),
      close: () => db.destroy(),
    };
  }
  const file = options.sqliteFile ?? join(options.dataDir ?? ".", SQLITE_FILE_NAME);
  const raw = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  raw.pragma("busy_timeout = 5000");
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
  return {
    reads: new KyselyReads(db, new HotReads(db)),
    db,
    integrityCheck: async () =>
      (raw.pragma("integrity_check") as { integrity_check: string }[]).map(
        (r) => r.integrity_check,
      ),
    migrations: () => migrationsOf(db),
    close: () => db.destroy(),
  };
}

async function migrationsOf(db: Kysely<Database>): Promise<string[]> {
  const rows = await db
    .selectFrom("kysely_migration" as never)
    .select("name" as never)
    .orderBy("name" as never)
    .execute();
  return (rows as { name: string }[]).map((r) => r.name);
}
