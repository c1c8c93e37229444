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

/** How long a statement waits for another process's lock before it fails SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

/**
 * Pauses between attempts to take the write lock while another process holds
 * it (a `--workers` group shares the file), in ms, the last one repeated.
 * SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25 … 100 ms between
 * attempts: a commit holds the lock for a millisecond or two, so two workers
 * that both write all the time (every call's audit record) spent most of their
 * time asleep, the lock free. Polling takes the lock within a fraction of a
 * millisecond of its release; each failed attempt costs a few µs.
 */
const LOCK_POLL_MS = [0.02, 0.05, 0.1, 0.15, 0.2] as const;

/**
 * While another process has been seen writing (this connection had to wait
 * for the lock in the last CONTENTION_MEMORY_MS), each transaction first
 * gives way this long, in ms — longer than the longest poll pause, so a
 * process polling for the lock gets it: without the pause the writer that
 * just committed takes the lock again before the poller's next attempt,
 * round after round.
 */
const YIELD_MS = 0.25;
const CONTENTION_MEMORY_MS = 1000;

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
  raw.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
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

const BEGIN_IMMEDIATE = CompiledQuery.raw("begin immediate");

class ImmediateSqliteDriver extends SqliteDriver {
  readonly #raw: BetterSqlite3.Database;
  /** When this connection last had to wait for another process's write lock. */
  #contendedAt = Number.NEGATIVE_INFINITY;

  constructor(config: SqliteDialectConfig, raw: BetterSqlite3.Database) {
    super(config);
    this.#raw = raw;
  }

  /**
   * Takes the write lock, polling while another process holds it (see
   * LOCK_POLL_MS) for up to BUSY_TIMEOUT_MS, then fails SQLITE_BUSY as
   * SQLite's busy handler would. The pauses block this thread, as SQLite's
   * own sleeps did: write transactions run on the writer thread.
   */
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    const started = performance.now();
    if (started - this.#contendedAt < CONTENTION_MEMORY_MS) pause(YIELD_MS);
    this.#raw.pragma("busy_timeout = 0");
    try {
      for (let attempt = 0; ; attempt += 1) {
        try {
          await connection.executeQuery(BEGIN_IMMEDIATE);
          return;
        } catch (error) {
          const busy = String((error as { code?: unknown }).code).startsWith("SQLITE_BUSY");
          if (!busy || performance.now() - started >= BUSY_TIMEOUT_MS) throw error;
          this.#contendedAt = performance.now();
          pause(LOCK_POLL_MS[Math.min(attempt, LOCK_POLL_MS.length - 1)] as number);
        }
      }
    } finally {
      this.#raw.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
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

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks this thread for `ms` (fractions allowed). */
function pause(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}
