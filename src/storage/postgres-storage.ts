import { setTimeout as sleep } from "node:timers/promises";
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { AuditChain } from "../vault/audit-chain.js";
import { DataKeyRing } from "../vault/data-key-ring.js";
import { storageCorrupted } from "../vault/storage-errors.js";
import type { Storage, StorageCondition, WriteBatchReport } from "../vault/storage-port.js";
import { ConditionTracker } from "./condition-tracker.js";
import { FoldedReads } from "./folded-reads.js";
import { GroupCommit, type GroupCommitOptions } from "./group-commit.js";
import { guardedReads } from "./guarded-reads.js";
import { HotReads, KyselyReads } from "./kysely-reads.js";
import { KyselyTransaction, type TransactionDialect } from "./kysely-transaction.js";
import { Listeners } from "./listeners.js";
import { migrate } from "./migrate.js";
import type { ColumnTypes } from "./migrations.js";
import { postgresFailure } from "./postgres-failures.js";
import type { Database } from "./schema.js";
import {
  HEARTBEAT_MS,
  heartbeat,
  registerServer,
  type ServerIdentity,
  unregisterServer,
} from "./server-registry.js";

/** Options for {@link openPostgresStorage}. */
export interface PostgresStorageOptions {
  /**
   * `postgres://user:password@host:port/database?sslmode=verify-full&sslrootcert=/ca.pem`;
   * parts it leaves out come from the usual PG* environment variables.
   */
  readonly url: string;
  /** Every master key stores may be wrapped under, the current one first. */
  readonly masterKeys: readonly Buffer[];
  readonly server: ServerIdentity;
  /** Connections to the database at most. Default 10. */
  readonly poolSize?: number;
  readonly writes?: GroupCommitOptions;
  /** Stops waiting for an unreachable database (a SIGTERM during start-up). */
  readonly signal?: AbortSignal;
  /** Told about each failed attempt to reach the database at start, before the next. */
  readonly onRetry?: (attempt: number, delayMs: number, error: unknown) => void;
}

/** PostgreSQL's column types; it has no clustered-table option worth taking. */
export const POSTGRES_COLUMN_TYPES: ColumnTypes = {
  bytes: "bytea",
  bigint: "bigint",
  clusterOnKey: (table) => table,
};

const RECORDS_ONLY_COMMIT = sql.raw("set local synchronous_commit = off");

const DIALECT: TransactionDialect = {
  // Two servers starting at once must not both see "no tokens yet".
  async lockTokensForBootstrap(tx) {
    await sql`lock table tokens in share row exclusive mode`.execute(tx);
  },
};

/**
 * The PostgreSQL adapter: any number of stateless servers on one database.
 * A connection pool; writes group-committed per process at the database's
 * default READ COMMITTED isolation, correct because every write takes its
 * store's row first (docs/storage.md, "How the database enforces the
 * rules"); concurrent point reads folded into one query. Start-up waits for an unreachable database with backoff; later
 * outages fail calls UNAVAILABLE and heal by themselves, the heartbeat being
 * the probe.
 *
 * @throws Error if the schema is newer than this server, or a migration fails.
 * @example
 * const storage = await openPostgresStorage({ url, masterKeys: [masterKey], server: serverIdentity() });
 */
export async function openPostgresStorage(options: PostgresStorageOptions): Promise<Storage> {
  const tracker = new ConditionTracker();
  const report = (condition: StorageCondition, cause: unknown): void =>
    tracker.report(condition, cause);
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    // A database that stops answering on an open connection must not hang calls forever.
    keepAlive: true,
    query_timeout: 30_000,
  });
  // An idle connection the database dropped: report it; the pool replaces the connection.
  pool.on("error", (error) => {
    const failure = postgresFailure(error);
    report(failure.condition ?? "unavailable", error);
  });
  // A connection that breaks while checked out (mid-query, mid-transaction) emits "error" on
  // its client, which the pool listens for only while the client is idle: unheard, that event
  // would end the process. The query in flight fails on its own; the pool drops the client.
  pool.on("connect", (client) => {
    client.on("error", (error) => {
      report(postgresFailure(error).condition ?? "unavailable", error);
    });
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await reachable(db, options);
    await migrate(db, POSTGRES_COLUMN_TYPES);
    await registerServer(db, options.server);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const hot = new HotReads(db);
  const keys = new DataKeyRing(options.masterKeys);
  const batches = new Listeners<WriteBatchReport>();
  const writes = new GroupCommit(
    (work, durability) =>
      db.transaction().execute(async (tx) => {
        // Records only (reads' audit records): the commit need not wait for the WAL flush
        // (docs/audit.md, "Durability of read records"); every other batch waits for it.
        if (durability === "records") await RECORDS_ONLY_COMMIT.execute(tx);
        return work(new KyselyTransaction(tx, hot, DIALECT));
      }),
    { keys, audit: new AuditChain(options.masterKeys[0] as Buffer, options.server.id) },
    postgresFailure,
    report,
    options.writes,
    (batch) => batches.emit(batch),
  );
  const beat = setInterval(() => {
    heartbeat(db, options.server).then(
      () => report("ok", undefined),
      (error: unknown) => {
        const failure = postgresFailure(error);
        report(failure.condition ?? "unavailable", error);
      },
    );
  }, HEARTBEAT_MS);
  beat.unref();
  const reads = new FoldedReads(new KyselyReads(db, hot));
  return {
    reads: guardedReads(reads, postgresFailure, report),
    shared: true,
    // A damaged database gets nothing more written into it.
    write: (command) =>
      tracker.condition === "corrupted"
        ? Promise.reject(storageCorrupted(undefined))
        : writes.submit(command),
    async scrub() {
      // The store row held the destroyed key: rewrite the small stores table so no dead
      // tuple keeps it. WAL segments and backups keep it until they are recycled
      // (docs/storage.md, "PostgreSQL").
      await sql`vacuum full stores`.execute(db);
    },
    get condition() {
      return tracker.condition;
    },
    onCondition: (listener) => tracker.on(listener),
    stats: () => ({
      pendingWrites: writes.pending,
      pool: { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount },
    }),
    onBatch: (listener) => batches.on(listener),
    async close() {
      clearInterval(beat);
      await writes.close();
      await unregisterServer(db, options.server).catch(() => {});
      keys.clear();
      await db.destroy();
    },
  };
}

/** Waits until the database answers, with backoff (0.2 s doubling to 5 s), or the signal aborts. */
async function reachable(db: Kysely<Database>, options: PostgresStorageOptions): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await sql`select 1`.execute(db);
      return;
    } catch (error) {
      const failure = postgresFailure(error);
      if (failure.condition !== "unavailable") throw error;
      const delayMs = Math.min(5_000, 200 * 2 ** (attempt - 1));
      options.onRetry?.(attempt, delayMs, error);
      await sleep(
        delayMs,
        undefined,
        options.signal === undefined ? {} : { signal: options.signal },
      );
    }
  }
}
