import type { Kysely } from "kysely";
import type { StorageReads } from "../vault/storage-port.js";
import { HotReads, KyselyReads } from "./kysely-reads.js";
import type { Database } from "./schema.js";

/**
 * Runs `work` on one consistent view of a database, as of one moment, while
 * other processes go on writing: on PostgreSQL a REPEATABLE READ, READ ONLY
 * transaction; on SQLite (WAL) one read transaction, whose snapshot is fixed
 * by its first read. Everything `work` reads through the handle it is given
 * belongs to that moment. A snapshot held for long keeps PostgreSQL's vacuum
 * and SQLite's checkpoints from reclaiming what changed since.
 *
 * @throws whatever `work` throws; the transaction is rolled back (it wrote nothing).
 * @example
 * const digest = await readSnapshot(db, "postgres", (snap) => digestDatabase(snap));
 */
export function readSnapshot<T>(
  db: Kysely<Database>,
  engine: "sqlite" | "postgres",
  work: (snapshot: Kysely<Database>) => Promise<T>,
): Promise<T> {
  const transaction =
    engine === "postgres"
      ? db.transaction().setIsolationLevel("repeatable read").setAccessMode("read only")
      : db.transaction();
  return transaction.execute(work);
}

/**
 * The storage port's reads over a kysely handle (a snapshot, say), for vault
 * logic that checks what it reads.
 *
 * @example
 * const stores = await portReads(snapshot).listStores();
 */
export function portReads(db: Kysely<Database>): StorageReads {
  return new KyselyReads(db, new HotReads(db));
}
