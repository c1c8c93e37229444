import type { Insertable, Kysely, Transaction } from "kysely";
import {
  allTokens,
  auditChainIds,
  auditCheckpoints,
  auditPage,
  entriesPage,
  liveStores,
  type PortableTable,
  storeSecrets,
} from "./portable-rows.js";
import type { Database } from "./schema.js";

/** Options for {@link copyDatabase}. */
export interface CopyOptions {
  /** Entries (and audit records) per target transaction. Default 5,000. */
  readonly batchRows?: number;
  /** Told how many entries are in the target so far, of how many. */
  readonly onProgress?: (entries: number, total: number) => void;
}

/** What a copy did. */
export interface CopyReport {
  /** Live stores in the source. */
  readonly stores: number;
  /** Stores a previous run had already finished (skipped). */
  readonly storesResumed: number;
  /** Entries of live stores in the source. */
  readonly entries: number;
  /** Entries this run wrote. */
  readonly entriesCopied: number;
  readonly tokens: number;
  readonly auditRecords: number;
}

/** Rows per INSERT statement: 7 to 15 columns each, well under either engine's parameter limit. */
const ROWS_PER_STATEMENT = 500;

/**
 * Copies the vault's rows from one database to another, as they are: stores
 * (live ones: a deleted store's key is already destroyed, its rows are
 * unreadable and only wait to be purged), their secrets and entries, tokens
 * (hashes only), the audit log and its checkpoints. Nothing is opened or
 * re-sealed: blobs stay sealed at rest under their store's data key, wrapped
 * keys stay wrapped by the master key, and both are bound to the store id and
 * key id, not to the database, so a byte-for-byte copy stays valid, and
 * neither a client secret nor the master key is needed.
 *
 * Resumable: each store's entries go in key id order, a batch per target
 * transaction, and the store's own row (with its secrets) goes last, so a
 * store row in the target means the store is complete. A run after a crash
 * skips complete stores, continues a store from the last key id the target
 * holds, and continues each audit chain from its last seq. Tokens and
 * checkpoints are inserted if absent.
 *
 * Run it inside a snapshot of the source (read-snapshot.ts): a source that
 * changes between batches would give a copy of no single moment.
 *
 * @throws Error from either database; the target keeps every batch committed so far.
 * @example
 * const report = await readSnapshot(source, "sqlite", (snap) => copyDatabase(snap, target));
 */
export async function copyDatabase(
  source: Kysely<Database>,
  target: Kysely<Database>,
  options: CopyOptions = {},
): Promise<CopyReport> {
  const batch = options.batchRows ?? 5000;
  const total = await countLiveEntries(source);
  let done = 0;
  let copied = 0;
  const progress = (): void => options.onProgress?.(done, total);

  const tokens = await allTokens(source);
  await target.transaction().execute((tx) => insertRows(tx, "tokens", tokens, ["id"]));

  const stores = await liveStores(source);
  let resumed = 0;
  for (const store of stores) {
    const finished = await target
      .selectFrom("stores")
      .select("uid")
      .where("uid", "=", store.uid)
      .executeTakeFirst();
    if (finished !== undefined) {
      resumed += 1;
      done += store.entry_count;
      progress();
      continue;
    }
    const last = await target
      .selectFrom("entries")
      .select("key_id")
      .where("store_uid", "=", store.uid)
      .orderBy("key_id", "desc")
      .limit(1)
      .executeTakeFirst();
    let after = last?.key_id;
    if (after !== undefined) done += await countEntries(target, store.uid);
    for (;;) {
      const page = await entriesPage(source, store.uid, after, batch);
      if (page.length > 0) {
        await target.transaction().execute((tx) => insertRows(tx, "entries", page));
        done += page.length;
        copied += page.length;
        progress();
      }
      if (page.length < batch) break;
      after = page[page.length - 1]?.key_id;
    }
    const secrets = await storeSecrets(source, store.uid);
    await target.transaction().execute(async (tx) => {
      await insertRows(tx, "store_secrets", secrets, ["store_uid", "fingerprint"]);
      await insertRows(tx, "stores", [store]);
    });
  }

  let auditRecords = 0;
  for (const chainId of await auditChainIds(source)) {
    const last = await target
      .selectFrom("audit_log")
      .select((eb) => eb.fn.max("seq").as("seq"))
      .where("chain_id", "=", chainId)
      .executeTakeFirst();
    let afterSeq = Number(last?.seq ?? 0);
    for (;;) {
      const page = await auditPage(source, chainId, afterSeq, batch);
      if (page.length > 0) {
        await target.transaction().execute((tx) => insertRows(tx, "audit_log", page));
      }
      auditRecords += page.length;
      if (page.length < batch) break;
      afterSeq = page[page.length - 1]?.seq ?? afterSeq;
    }
  }
  const checkpoints = await auditCheckpoints(source);
  await target
    .transaction()
    .execute((tx) => insertRows(tx, "audit_checkpoints", checkpoints, ["chain_id"]));

  return {
    stores: stores.length,
    storesResumed: resumed,
    entries: total,
    entriesCopied: copied,
    tokens: tokens.length,
    auditRecords,
  };
}

/** Entries of live stores: what a copy moves. */
export async function countLiveEntries(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom("entries")
    .select((eb) => eb.fn.countAll().as("n"))
    .where("store_uid", "in", (eb) =>
      eb.selectFrom("stores").select("uid").where("deleted_at", "is", null),
    )
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function countEntries(db: Kysely<Database>, storeUid: Buffer): Promise<number> {
  const row = await db
    .selectFrom("entries")
    .select((eb) => eb.fn.countAll().as("n"))
    .where("store_uid", "=", storeUid)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Inserts rows in statements of bounded size; with `keys`, rows already there are left alone. */
async function insertRows<T extends PortableTable>(
  tx: Transaction<Database>,
  table: T,
  rows: readonly Insertable<Database[T]>[],
  keys?: readonly string[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
    // kysely's per-table insert types do not survive a generic table name.
    const insert = tx
      .insertInto(table as "tokens")
      .values(chunk as Insertable<Database["tokens"]>[]);
    await (keys === undefined
      ? insert
      : insert.onConflict((oc) => oc.columns(keys as ["id"]).doNothing())
    ).execute();
  }
}
