import { join } from "node:path";
import { sql } from "kysely";
import { storageCorrupted } from "../vault/storage-errors.js";
import type { Storage, StorageCondition, WriteBatchReport } from "../vault/storage-port.js";
import { ConditionTracker } from "./condition-tracker.js";
import { lockDataDir } from "./data-dir-lock.js";
import type { GroupCommitOptions } from "./group-commit.js";
import { guardedReads } from "./guarded-reads.js";
import { HotReads, KyselyReads } from "./kysely-reads.js";
import { Listeners } from "./listeners.js";
import { migrate } from "./migrate.js";
import {
  otherLiveServers,
  registerServer,
  type ServerIdentity,
  unregisterServer,
} from "./server-registry.js";
import { openSqliteKysely } from "./sqlite-database.js";
import { sqliteFailure } from "./sqlite-failures.js";
import { startWriterThread } from "./writer-thread.js";

/** File name of the embedded database inside the data directory. */
export const SQLITE_FILE_NAME = "hexclave.db";

/** Options for {@link openSqliteStorage}. */
export interface SqliteStorageOptions {
  readonly dataDir: string;
  /** Every master key stores may be wrapped under, the current one first. */
  readonly masterKeys: readonly Buffer[];
  readonly server: ServerIdentity;
  /**
   * Other processes of this server's group use the file too (`--workers`):
   * their leader holds the data directory's lock, and this process keeps no
   * cache another could make stale.
   */
  readonly shared?: boolean;
  readonly writes?: GroupCommitOptions;
  /** Told if the writer thread dies. */
  readonly onWriterFailure?: (error: Error) => void;
}

/**
 * The embedded SQLite adapter. One server (or one `--workers` group) owns a
 * data directory: the lock file says so while it runs, and the servers table
 * says so even if the lock file is removed. Reads run on the calling thread;
 * writes run on a writer thread of their own with group commit, so a commit's
 * fsync never stalls the calls being served. At start the file is checked
 * (`quick_check`) and migrated; a damaged file is refused.
 *
 * @throws Error if another server holds the directory, the file is damaged,
 *   or it cannot be opened or migrated.
 * @example
 * const storage = await openSqliteStorage({ dataDir: "/data", masterKeys: [masterKey], server: serverIdentity() });
 */
export async function openSqliteStorage(options: SqliteStorageOptions): Promise<Storage> {
  const shared = options.shared ?? false;
  const lock = shared ? undefined : lockDataDir(options.dataDir);
  const path = join(options.dataDir, SQLITE_FILE_NAME);
  const db = openSqliteKysely(path);
  try {
    await assertIntact(db, path);
    await migrate(db, SQLITE_COLUMN_TYPES);
    const others = await otherLiveServers(db, options.server, Date.now());
    const other = others[0];
    if (other !== undefined) {
      throw new Error(
        `the data directory ${options.dataDir} is in use by another Hexclave server (pid ${other.pid} on ${other.host}, alive ${Date.now() - other.heartbeatAt} ms ago) although its lock file is gone: stop that server first`,
      );
    }
    await registerServer(db, options.server);
  } catch (error) {
    await db.destroy();
    lock?.release();
    throw error;
  }
  const tracker = new ConditionTracker();
  const batches = new Listeners<WriteBatchReport>();
  let writes: Awaited<ReturnType<typeof startWriterThread>>;
  try {
    writes = await startWriterThread({
      path,
      masterKeys: options.masterKeys,
      server: options.server,
      onCondition: (condition, cause) => tracker.report(condition, cause),
      onBatch: (batch) => batches.emit(batch),
      ...(options.writes === undefined ? {} : { writes: options.writes }),
      ...(options.onWriterFailure === undefined ? {} : { onFailure: options.onWriterFailure }),
    });
  } catch (error) {
    await db.destroy();
    lock?.release();
    throw error;
  }
  const report = (condition: StorageCondition, cause: unknown): void =>
    tracker.report(condition, cause);
  return {
    reads: guardedReads(new KyselyReads(db, new HotReads(db)), sqliteFailure, report),
    shared,
    // A damaged database gets nothing more written into it.
    write: (command) =>
      tracker.condition === "corrupted"
        ? Promise.reject(storageCorrupted(undefined))
        : writes.submit(command),
    scrub: () => writes.scrub(),
    get condition() {
      return tracker.condition;
    },
    onCondition: (listener) => tracker.on(listener),
    stats: () => ({ pendingWrites: writes.pending, pool: undefined }),
    onBatch: (listener) => batches.on(listener),
    async close() {
      await writes.close();
      await unregisterServer(db, options.server).catch(() => {});
      await db.destroy();
      lock?.release();
    },
  };
}

/** SQLite's column types, and entries clustered on their key (WITHOUT ROWID). */
export const SQLITE_COLUMN_TYPES = {
  bytes: "blob",
  bigint: "integer",
  clusterOnKey: (table) => table.modifyEnd(sql`without rowid`),
} as const satisfies import("./migrations.js").ColumnTypes;

/**
 * Refuses a damaged file before serving from it: a server on a damaged file
 * would answer some reads, fail others, and write more into the damage.
 */
async function assertIntact(
  db: import("kysely").Kysely<import("./schema.js").Database>,
  path: string,
): Promise<void> {
  const { rows } = await sql<{ quick_check: string }>`pragma quick_check`
    .execute(db)
    .catch((error: unknown) => {
      throw new Error(
        `the database ${path} cannot be read (${(error as Error).message}): restore it from a backup ("hexclave restore")`,
        { cause: error },
      );
    });
  const problems = rows.map((r) => r.quick_check).filter((line) => line !== "ok");
  if (problems.length > 0) {
    throw new Error(
      `the database ${path} is damaged (${problems.slice(0, 3).join("; ")}): run "hexclave verify" for details and restore it from a backup ("hexclave restore")`,
    );
  }
}
