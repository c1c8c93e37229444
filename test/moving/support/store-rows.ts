import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import type { BackendStorage } from "../../support/backends.js";
import { postgresClient } from "../../support/postgres-tables.js";

/** How many live stores' data keys are wrapped under this master key id (hex). */
export async function storesUnder(
  storage: Pick<BackendStorage, "dataDir" | "databaseUrl">,
  keyIdHex: string,
): Promise<number> {
  const query = "select count(*) as n from stores where master_key_id = $1 and deleted_at is null";
  const id = Buffer.from(keyIdHex, "hex");
  if (storage.databaseUrl === undefined) {
    const db = new BetterSqlite3(join(storage.dataDir, "hexclave.db"), { readonly: true });
    try {
      return Number((db.prepare(query.replace("$1", "?")).get(id) as { n: number }).n);
    } finally {
      db.close();
    }
  }
  const client = await postgresClient(storage.databaseUrl);
  try {
    return Number((await client.query(query, [id])).rows[0].n);
  } finally {
    await client.end();
  }
}

/**
 * Waits until at least `least` live stores are under `keyIdHex`, then at once
 * holds the stores table against writers from other processes (SQLite's
 * write lock; PostgreSQL's EXCLUSIVE table lock, which plain reads pass), so
 * a rotation running in another process is frozen midway. On SQLite a
 * rotation commits a store in about a millisecond, so the wait is a tight
 * loop on an open connection and the lock is taken on another one already
 * open.
 *
 * @returns how many stores were under the key once held, and the release.
 * @example
 * const frozen = await freezeStoresAfter(storage, newKeyId, 3);
 * child.kill("SIGKILL");
 * await frozen.release();
 */
export async function freezeStoresAfter(
  storage: Pick<BackendStorage, "dataDir" | "databaseUrl">,
  keyIdHex: string,
  least: number,
  timeoutMs = 60_000,
): Promise<{ readonly count: number; release(): Promise<void> }> {
  const id = Buffer.from(keyIdHex, "hex");
  const deadline = Date.now() + timeoutMs;
  if (storage.databaseUrl === undefined) {
    const file = join(storage.dataDir, "hexclave.db");
    const reader = new BetterSqlite3(file, { readonly: true });
    const writer = new BetterSqlite3(file);
    writer.pragma("busy_timeout = 10000");
    const count = reader.prepare(
      "select count(*) as n from stores where master_key_id = ? and deleted_at is null",
    );
    const under = (): number => Number((count.get(id) as { n: number }).n);
    while (under() < least) {
      if (Date.now() > deadline)
        throw new Error(`fewer than ${least} stores after ${timeoutMs} ms`);
    }
    writer.exec("begin immediate");
    const held = under();
    reader.close();
    return {
      count: held,
      async release() {
        writer.exec("rollback");
        writer.close();
      },
    };
  }
  const client = await postgresClient(storage.databaseUrl);
  const query = "select count(*) as n from stores where master_key_id = $1 and deleted_at is null";
  while (Number((await client.query(query, [id])).rows[0].n) < least) {
    if (Date.now() > deadline) throw new Error(`fewer than ${least} stores after ${timeoutMs} ms`);
  }
  await client.query("begin");
  await client.query("lock table stores in exclusive mode");
  const held = Number((await client.query(query, [id])).rows[0].n);
  return {
    count: held,
    async release() {
      await client.query("rollback");
      await client.end();
    },
  };
}
