import { mkdir } from "node:fs/promises";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, PostgresDialect, SqliteDialect } from "kysely";
import pg from "pg";
import { type DataDirLock, lockDataDir } from "./data-dir-lock.js";
import { type DatabaseLocation, describeLocation, sqliteFileOf } from "./database-location.js";
import { migrate } from "./migrate.js";
import { POSTGRES_COLUMN_TYPES } from "./postgres-storage.js";
import type { Database } from "./schema.js";
import { otherLiveServers, type RegisteredServer, serverIdentity } from "./server-registry.js";
import { openSqliteKysely } from "./sqlite-database.js";
import { SQLITE_COLUMN_TYPES } from "./sqlite-storage.js";

/** A database opened to copy into: migrated to this version's schema. */
export interface CopyTarget {
  readonly location: DatabaseLocation;
  readonly db: Kysely<Database>;
  /** Whether it holds no store, entry, secret, token or audit row. */
  isEmpty(): Promise<boolean>;
  /** Deletes every store, entry, secret, token and audit row, in one transaction. */
  empty(): Promise<void>;
  /** Servers using the database now. */
  liveServers(): Promise<RegisteredServer[]>;
  close(): Promise<void>;
}

/** The tables a copy fills, children first (the order to empty them in). */
const FILLED_TABLES = [
  "entries",
  "store_secrets",
  "stores",
  "tokens",
  "audit_log",
  "audit_checkpoints",
] as const;

/**
 * Opens (creating if need be) a database to copy into, and brings its schema
 * up to date. A data directory is made owner-only and taken the way a server
 * takes it, so no server starts on it during the copy; its file is opened as
 * a server opens it (WAL, synchronous=FULL, secure_delete), so every batch
 * committed is on disk. A single file (a backup being made) is written
 * without fsync per transaction: the caller fsyncs it once, whole, before
 * giving it its name.
 *
 * @throws Error if a server holds the directory, or the database cannot be
 *   opened or migrated.
 * @example
 * const target = await openCopyTarget({ kind: "postgres", url });
 */
export async function openCopyTarget(location: DatabaseLocation): Promise<CopyTarget> {
  let lock: DataDirLock | undefined;
  let db: Kysely<Database>;
  if (location.kind === "postgres") {
    const pool = new pg.Pool({ connectionString: location.url, max: 2 });
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  } else if (location.kind === "sqlite") {
    await mkdir(location.dataDir, { recursive: true, mode: 0o700 });
    try {
      lock = lockDataDir(location.dataDir);
    } catch (cause) {
      throw new Error(
        `a Hexclave server is running on ${describeLocation(location)}: stop it first; nothing is written into a database a server is using`,
        { cause },
      );
    }
    db = openSqliteKysely(sqliteFileOf(location) as string);
  } else {
    const raw = new BetterSqlite3(location.file);
    raw.pragma("journal_mode = MEMORY");
    raw.pragma("synchronous = OFF");
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
  }
  try {
    await migrate(db, location.kind === "postgres" ? POSTGRES_COLUMN_TYPES : SQLITE_COLUMN_TYPES);
  } catch (cause) {
    await db.destroy();
    lock?.release();
    throw new Error(`cannot prepare ${describeLocation(location)}: ${(cause as Error).message}`, {
      cause,
    });
  }
  return {
    location,
    db,
    async isEmpty() {
      for (const table of FILLED_TABLES) {
        const row = await db.selectFrom(table).select(db.fn.countAll().as("n")).executeTakeFirst();
        if (Number(row?.n ?? 0) > 0) return false;
      }
      return true;
    },
    async empty() {
      await db.transaction().execute(async (tx) => {
        for (const table of FILLED_TABLES) await tx.deleteFrom(table).execute();
      });
    },
    liveServers: () => otherLiveServers(db, serverIdentity(), Date.now()),
    async close() {
      await db.destroy();
      lock?.release();
    },
  };
}
