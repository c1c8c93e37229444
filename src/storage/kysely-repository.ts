import { type CompiledQuery, type Kysely, type Selectable, sql, type Transaction } from "kysely";
import type {
  CountDelta,
  EntryListQuery,
  EntryRow,
  GrantRow,
  Repository,
  RepositoryReads,
  RepositoryTransaction,
  SecretRow,
  StoreRow,
  TokenRow,
} from "../vault/repository.js";
import type { Dialect } from "./dialect.js";
import type { Database, EntriesTable, StoresTable, TokensTable } from "./schema.js";

/**
 * The per-write statements, compiled by kysely once instead of built on
 * every call (building costs more than running a primary-key lookup). Only
 * the parameters change; they are bound in the order the SQL names them.
 */
class HotQueries {
  readonly getOne: CompiledQuery;
  readonly putEntry: CompiledQuery;

  constructor(db: Kysely<Database>) {
    const slot = Buffer.alloc(0);
    this.getOne = db
      .selectFrom("entries")
      .select(["key_id", "fingerprint", "blob", "version", "updated_at"])
      .where("store_uid", "=", slot)
      .where("key_id", "=", slot)
      .compile();
    const row = { fingerprint: slot, blob: slot, version: 0, updated_at: 0 };
    this.putEntry = db
      .insertInto("entries")
      .values({ store_uid: slot, key_id: slot, ...row })
      .onConflict((oc) => oc.columns(["store_uid", "key_id"]).doUpdateSet(row))
      .compile();
    // Parameters are bound by position below: refuse to run if the SQL's shape ever changes.
    if (this.getOne.parameters.length !== 2 || this.putEntry.parameters.length !== 10) {
      throw new Error("kysely compiled the hot queries with unexpected parameters");
    }
  }
}

type EntrySelection = Pick<
  Selectable<EntriesTable>,
  "key_id" | "fingerprint" | "blob" | "version" | "updated_at"
>;

/**
 * The vault's storage port over kysely, the same code for every dialect.
 * Only portable SQL is used: upserts by `ON CONFLICT`, no RETURNING, integers
 * and raw bytes only.
 */
class KyselyReads implements RepositoryReads {
  constructor(
    protected readonly db: Kysely<Database> | Transaction<Database>,
    protected readonly hot: HotQueries,
  ) {}

  async findStore(id: string): Promise<StoreRow | undefined> {
    const row = await this.db
      .selectFrom("stores")
      .selectAll()
      .where("id", "=", id)
      .where("deleted_at", "is", null)
      .executeTakeFirst();
    return row === undefined ? undefined : toStoreRow(row);
  }

  async listStores(): Promise<StoreRow[]> {
    const rows = await this.db
      .selectFrom("stores")
      .selectAll()
      .where("deleted_at", "is", null)
      .orderBy("id")
      .execute();
    return rows.map(toStoreRow);
  }

  async listSecrets(storeUid: Buffer): Promise<SecretRow[]> {
    const rows = await this.db
      .selectFrom("store_secrets")
      .select(["fingerprint", "entry_count", "registered_at"])
      .where("store_uid", "=", storeUid)
      .orderBy("registered_at")
      .orderBy("fingerprint")
      .execute();
    return rows.map((r) => ({
      fingerprint: r.fingerprint,
      entryCount: Number(r.entry_count),
      registeredAt: Number(r.registered_at),
    }));
  }

  async getEntries(storeUid: Buffer, keyIds: readonly Buffer[]): Promise<EntryRow[]> {
    if (keyIds.length === 0) return [];
    if (keyIds.length === 1) {
      const result = await this.db.executeQuery<EntrySelection>({
        ...this.hot.getOne,
        parameters: [storeUid, keyIds[0]],
      });
      return result.rows.map(toEntryRow);
    }
    const rows = await this.db
      .selectFrom("entries")
      .select(["key_id", "fingerprint", "blob", "version", "updated_at"])
      .where("store_uid", "=", storeUid)
      .where("key_id", "in", keyIds)
      .execute();
    return rows.map(toEntryRow);
  }

  async listEntries(storeUid: Buffer, query: EntryListQuery): Promise<EntryRow[]> {
    let select = this.db
      .selectFrom("entries")
      .select(["key_id", "fingerprint", "blob", "version", "updated_at"])
      .where("store_uid", "=", storeUid);
    if (query.afterKeyId !== undefined) select = select.where("key_id", ">", query.afterKeyId);
    if (query.fingerprints.length > 0)
      select = select.where("fingerprint", "in", query.fingerprints);
    const rows = await select.orderBy("key_id").limit(query.limit).execute();
    return rows.map(toEntryRow);
  }

  async findToken(id: string): Promise<TokenRow | undefined> {
    const row = await this.db
      .selectFrom("tokens")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirst();
    return row === undefined ? undefined : toTokenRow(row);
  }

  async listTokens(includeRevoked: boolean): Promise<TokenRow[]> {
    let select = this.db.selectFrom("tokens").selectAll();
    if (!includeRevoked) select = select.where("revoked_at", "is", null);
    const rows = await select.orderBy("created_at").orderBy("id").execute();
    return rows.map(toTokenRow);
  }

  async countTokens(): Promise<number> {
    const row = await this.db
      .selectFrom("tokens")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async listDeletedStoreUids(): Promise<Buffer[]> {
    const rows = await this.db
      .selectFrom("stores")
      .select("uid")
      .where("deleted_at", "is not", null)
      .execute();
    return rows.map((r) => r.uid);
  }
}

class KyselyTransaction extends KyselyReads implements RepositoryTransaction {
  async insertStore(row: StoreRow): Promise<void> {
    await this.db
      .insertInto("stores")
      .values({
        uid: row.uid,
        id: row.id,
        description: row.description,
        salt: row.salt,
        wrapped_key: row.wrappedKey,
        master_key_id: row.masterKeyId,
        max_value_bytes: row.maxValueBytes,
        entry_count: row.entryCount,
        total_value_bytes: row.totalValueBytes,
        created_at: row.createdAt,
        last_version: row.lastVersion,
        deleted_at: null,
      })
      .execute();
  }

  async destroyStoreKey(storeUid: Buffer, deletedAt: number): Promise<void> {
    await this.db
      .updateTable("stores")
      .set({ wrapped_key: Buffer.alloc(0), deleted_at: deletedAt })
      .where("uid", "=", storeUid)
      .execute();
  }

  async purgeEntries(storeUid: Buffer, limit: number): Promise<number> {
    const batch = await this.db
      .selectFrom("entries")
      .select("key_id")
      .where("store_uid", "=", storeUid)
      .limit(limit)
      .execute();
    if (batch.length === 0) return 0;
    await this.deleteEntries(
      storeUid,
      batch.map((r) => r.key_id),
    );
    return batch.length;
  }

  async deleteStoreRows(storeUid: Buffer): Promise<void> {
    await this.db.deleteFrom("store_secrets").where("store_uid", "=", storeUid).execute();
    await this.db.deleteFrom("stores").where("uid", "=", storeUid).execute();
  }

  async insertSecret(storeUid: Buffer, fingerprint: Buffer, registeredAt: number): Promise<void> {
    await this.db
      .insertInto("store_secrets")
      .values({ store_uid: storeUid, fingerprint, entry_count: 0, registered_at: registeredAt })
      .execute();
  }

  async deleteSecret(storeUid: Buffer, fingerprint: Buffer): Promise<void> {
    await this.db
      .deleteFrom("store_secrets")
      .where("store_uid", "=", storeUid)
      .where("fingerprint", "=", fingerprint)
      .execute();
  }

  async putEntry(storeUid: Buffer, row: EntryRow): Promise<void> {
    // Bound in the SQL's order: the inserted row, then the update's columns.
    const values = [row.fingerprint, row.blob, row.version, row.updatedAt];
    await this.db.executeQuery({
      ...this.hot.putEntry,
      parameters: [storeUid, row.keyId, ...values, ...values],
    });
  }

  async deleteEntries(storeUid: Buffer, keyIds: readonly Buffer[]): Promise<void> {
    if (keyIds.length === 0) return;
    const query = this.db.deleteFrom("entries").where("store_uid", "=", storeUid);
    if (keyIds.length === 1) await query.where("key_id", "=", keyIds[0] as Buffer).execute();
    else await query.where("key_id", "in", keyIds).execute();
  }

  async applyCountDeltas(deltas: readonly CountDelta[]): Promise<void> {
    const perStore = new Map<string, { uid: Buffer; entries: number; bytes: number }>();
    for (const d of deltas) {
      if (d.entries !== 0) {
        await this.db
          .updateTable("store_secrets")
          .set((eb) => ({ entry_count: eb("entry_count", "+", d.entries) }))
          .where("store_uid", "=", d.storeUid)
          .where("fingerprint", "=", d.fingerprint)
          .execute();
      }
      const key = d.storeUid.toString("hex");
      const sum = perStore.get(key) ?? { uid: d.storeUid, entries: 0, bytes: 0 };
      sum.entries += d.entries;
      sum.bytes += d.bytes;
      perStore.set(key, sum);
    }
    for (const sum of perStore.values()) {
      if (sum.entries === 0 && sum.bytes === 0) continue;
      await this.db
        .updateTable("stores")
        .set((eb) => ({
          entry_count: eb("entry_count", "+", sum.entries),
          total_value_bytes: eb("total_value_bytes", "+", sum.bytes),
        }))
        .where("uid", "=", sum.uid)
        .execute();
    }
  }

  async setLastVersion(storeUid: Buffer, lastVersion: number): Promise<void> {
    await this.db
      .updateTable("stores")
      .set({ last_version: lastVersion })
      .where("uid", "=", storeUid)
      .execute();
  }

  async insertToken(row: TokenRow): Promise<void> {
    await this.db
      .insertInto("tokens")
      .values({
        id: row.id,
        name: row.name,
        secret_hash: row.secretHash,
        admin: row.admin ? 1 : 0,
        grants: JSON.stringify(row.grants),
        created_at: row.createdAt,
        last_used_at: row.lastUsedAt,
        revoked_at: row.revokedAt,
      })
      .execute();
  }

  async revokeToken(id: string, revokedAt: number): Promise<void> {
    await this.db
      .updateTable("tokens")
      .set({ revoked_at: revokedAt })
      .where("id", "=", id)
      .where("revoked_at", "is", null)
      .execute();
  }

  async touchTokens(ids: readonly string[], usedAt: number): Promise<void> {
    if (ids.length === 0) return;
    await this.db
      .updateTable("tokens")
      .set({ last_used_at: usedAt })
      .where("id", "in", ids)
      .execute();
  }
}

/**
 * A {@link Repository} over any kysely dialect. The caller owns migrations
 * and hands over a migrated database.
 *
 * @example
 * const repo = new KyselyRepository(db);
 * await repo.transaction(async (tx) => tx.insertToken(row));
 */
export class KyselyRepository extends KyselyReads implements Repository {
  readonly #db: Kysely<Database>;
  readonly #dialect: Dialect;

  constructor(db: Kysely<Database>, dialect: Dialect) {
    super(db, new HotQueries(db));
    this.#db = db;
    this.#dialect = dialect;
  }

  transaction<T>(work: (tx: RepositoryTransaction) => Promise<T>): Promise<T> {
    return this.#db.transaction().execute((trx) => work(new KyselyTransaction(trx, this.hot)));
  }

  async scrub(): Promise<void> {
    // Through kysely, so it waits for the connection like any transaction would.
    if (this.#dialect === "sqlite") await sql`pragma wal_checkpoint(TRUNCATE)`.execute(this.#db);
  }

  close(): Promise<void> {
    return this.#db.destroy();
  }
}

function toStoreRow(row: Selectable<StoresTable>): StoreRow {
  return {
    uid: row.uid,
    id: row.id,
    description: row.description,
    salt: row.salt,
    wrappedKey: row.wrapped_key,
    masterKeyId: row.master_key_id,
    maxValueBytes: Number(row.max_value_bytes),
    entryCount: Number(row.entry_count),
    totalValueBytes: Number(row.total_value_bytes),
    createdAt: Number(row.created_at),
    lastVersion: Number(row.last_version),
  };
}

function toEntryRow(row: {
  key_id: Buffer;
  fingerprint: Buffer;
  blob: Buffer;
  version: number;
  updated_at: number;
}): EntryRow {
  return {
    keyId: row.key_id,
    fingerprint: row.fingerprint,
    blob: row.blob,
    version: Number(row.version),
    updatedAt: Number(row.updated_at),
  };
}

function toTokenRow(row: Selectable<TokensTable>): TokenRow {
  return {
    id: row.id,
    name: row.name,
    secretHash: row.secret_hash,
    admin: Number(row.admin) === 1,
    grants: parseGrants(row.grants),
    createdAt: Number(row.created_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}

function parseGrants(json: string): GrantRow[] {
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed)) throw new Error("tokens.grants is not a JSON array");
  return parsed.map((g: { storeId: unknown; read: unknown; write: unknown }) => ({
    storeId: String(g.storeId),
    read: g.read === true,
    write: g.write === true,
  }));
}
