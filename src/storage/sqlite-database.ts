import { closeSync, openSync } from "node:fs";
import BetterSqlite3 from "better-sqlite3";
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  type SqliteDatabase,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
  type SqliteStatement,
} from "kysely";
import type { Database } from "./schema.js";

/** Prepared statements kept per connection; query shapes are few, IN-lists add some. */
const STATEMENT_CACHE_SIZE = 512;

/**
 * Opens the embedded SQLite database the way the vault's promises need it:
 * WAL so readers never wait on the writer, `synchronous=FULL` so a commit is
 * on disk before it is acknowledged, and `secure_delete` so deleted keys and
 * blobs are overwritten in the file instead of lingering in free pages.
 *
 * @throws Error from better-sqlite3 if the file cannot be opened.
 * @example
 * const db = openSqlite("/var/lib/hexclave/hexclave.db");
 */
export function openSqlite(
  path: string,
): SqliteDatabase & { readonly raw: BetterSqlite3.Database } {
  // Create the file owner-only before SQLite does; its -wal and -shm files inherit the mode.
  closeSync(openSync(path, "a", 0o600));
  const raw = new BetterSqlite3(path);
  raw.pragma("journal_mode = WAL");
  raw.pragma("synchronous = FULL");
  raw.pragma("secure_delete = ON");
  raw.pragma("foreign_keys = ON");
  raw.pragma("busy_timeout = 5000");
  if (raw.pragma("journal_mode", { simple: true }) !== "wal") {
    raw.close();
    throw new Error(`SQLite at ${path} could not switch to WAL mode`);
  }

  // kysely prepares every query it runs; preparing costs more than running a
  // primary-key lookup, so reuse statements by SQL text (least recently used out).
  const cache = new Map<string, SqliteStatement>();
  return {
    raw,
    prepare(sqlText: string): SqliteStatement {
      let statement = cache.get(sqlText);
      if (statement === undefined) {
        statement = raw.prepare(sqlText) as unknown as SqliteStatement;
        if (cache.size >= STATEMENT_CACHE_SIZE) {
          const oldest = cache.keys().next().value;
          if (oldest !== undefined) cache.delete(oldest);
        }
      } else {
        cache.delete(sqlText);
      }
      cache.set(sqlText, statement);
      return statement;
    },
    close(): void {
      cache.clear();
      // Fold the WAL back into the main file so a stopped server leaves one file behind.
      raw.pragma("wal_checkpoint(TRUNCATE)");
      raw.close();
    },
  };
}

/**
 * A kysely handle on one SQLite file, opened as {@link openSqlite} opens it.
 * Its transactions begin IMMEDIATE: a write transaction takes SQLite's write
 * lock before it reads, so a transaction that reads, checks and writes can
 * never find the database changed under it by another process (a deferred
 * transaction would fail with SQLITE_BUSY_SNAPSHOT instead). Migrations are
 * the caller's business.
 *
 * @example
 * const db = openSqliteKysely("/data/hexclave.db");
 */
export function openSqliteKysely(path: string): Kysely<Database> {
  const database = openSqlite(path);
  return new Kysely<Database>({
    dialect: new ImmediateSqliteDialect({ database }, database.raw),
  });
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  readonly #raw: BetterSqlite3.Database;

  constructor(config: SqliteDialectConfig, raw: BetterSqlite3.Database) {
    super(config);
    this.#config = config;
    this.#raw = raw;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config, this.#raw);
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  readonly #raw: BetterSqlite3.Database;

  constructor(config: SqliteDialectConfig, raw: BetterSqlite3.Database) {
    super(config);
    this.#raw = raw;
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin immediate"));
  }

  /**
   * SQLite rolls a transaction back by itself on some errors (a full disk,
   * an I/O error); a second rollback would then fail and hide the error that
   * matters, so it is sent only while a transaction is open.
   */
  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (this.#raw.inTransaction) await super.rollbackTransaction(connection);
  }
}
