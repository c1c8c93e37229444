import type { Transaction } from "kysely";
import type { ChainedAuditRecord } from "../vault/audit-chain.js";
import type {
  AuditCheckpoint,
  CountDelta,
  DashboardSessionRow,
  EntryDelete,
  EntryPut,
  EntryRow,
  StoreRow,
  TokenRow,
  WriteTransaction,
} from "../vault/storage-port.js";
import {
  ENTRY_COLUMNS,
  type HotReads,
  KyselyReads,
  toEntryRow,
  toStoreRow,
  toTokenRow,
} from "./kysely-reads.js";
import type { Database } from "./schema.js";

/** What differs between dialects inside a write transaction. */
export interface TransactionDialect {
  /**
   * Keeps concurrent "first admin token" inserts from both seeing an empty
   * table (PostgreSQL: a table lock; SQLite: writers are serialized already).
   */
  lockTokensForBootstrap(tx: Transaction<Database>): Promise<void>;
}

/**
 * The storage port's write primitives over kysely, one SQL for every
 * dialect. Each primitive is a rule the database enforces: an increment it
 * returns, a write conditional on the version read, an insert if absent.
 */
export class KyselyTransaction extends KyselyReads implements WriteTransaction {
  readonly #tx: Transaction<Database>;
  readonly #dialect: TransactionDialect;

  constructor(tx: Transaction<Database>, hot: HotReads, dialect: TransactionDialect) {
    super(tx, hot);
    this.#tx = tx;
    this.#dialect = dialect;
  }

  async takeVersions(storeUid: Buffer, count: number): Promise<StoreRow | undefined> {
    const row = await this.#tx
      .updateTable("stores")
      .set((eb) => ({ last_version: eb("last_version", "+", count) }))
      .where("uid", "=", storeUid)
      .where("deleted_at", "is", null)
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? undefined : toStoreRow(row);
  }

  async insertStore(row: StoreRow): Promise<boolean> {
    const inserted = await this.#tx
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
      // The partial unique index on live ids: a deleted store's id is free at once.
      .onConflict((oc) => oc.column("id").where("deleted_at", "is", null).doNothing())
      .returning("uid")
      .executeTakeFirst();
    return inserted !== undefined;
  }

  async destroyStoreKey(storeId: string, deletedAt: number): Promise<StoreRow | undefined> {
    const row = await this.#tx
      .updateTable("stores")
      .set({ wrapped_key: Buffer.alloc(0), deleted_at: deletedAt })
      .where("id", "=", storeId)
      .where("deleted_at", "is", null)
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? undefined : toStoreRow(row);
  }

  async purgeEntries(storeUid: Buffer, limit: number): Promise<number> {
    const batch = await this.#tx
      .selectFrom("entries")
      .select("key_id")
      .where("store_uid", "=", storeUid)
      .limit(limit)
      .execute();
    if (batch.length === 0) return 0;
    await this.#tx
      .deleteFrom("entries")
      .where("store_uid", "=", storeUid)
      .where(
        "key_id",
        "in",
        batch.map((r) => r.key_id),
      )
      .execute();
    return batch.length;
  }

  async deleteStoreRows(storeUid: Buffer): Promise<void> {
    await this.#tx.deleteFrom("store_secrets").where("store_uid", "=", storeUid).execute();
    await this.#tx.deleteFrom("stores").where("uid", "=", storeUid).execute();
  }

  async insertSecret(
    storeUid: Buffer,
    fingerprint: Buffer,
    registeredAt: number,
  ): Promise<boolean> {
    const inserted = await this.#tx
      .insertInto("store_secrets")
      .values({ store_uid: storeUid, fingerprint, entry_count: 0, registered_at: registeredAt })
      .onConflict((oc) => oc.columns(["store_uid", "fingerprint"]).doNothing())
      .returning("fingerprint")
      .executeTakeFirst();
    return inserted !== undefined;
  }

  async deleteSecret(storeUid: Buffer, fingerprint: Buffer): Promise<void> {
    await this.#tx
      .deleteFrom("store_secrets")
      .where("store_uid", "=", storeUid)
      .where("fingerprint", "=", fingerprint)
      .execute();
  }

  async putEntries(puts: readonly EntryPut[]): Promise<number> {
    let written = 0;
    const fresh = puts.filter((p) => p.replacing === undefined);
    if (fresh.length > 0) {
      const inserted = await this.#tx
        .insertInto("entries")
        .values(fresh.map((p) => ({ store_uid: p.storeUid, ...columnsOf(p.row) })))
        .onConflict((oc) => oc.columns(["store_uid", "key_id"]).doNothing())
        .returning("key_id")
        .execute();
      written += inserted.length;
    }
    for (const put of puts) {
      if (put.replacing === undefined) continue;
      const { key_id, ...changes } = columnsOf(put.row);
      const result = await this.#tx
        .updateTable("entries")
        .set(changes)
        .where("store_uid", "=", put.storeUid)
        .where("key_id", "=", key_id)
        .where("version", "=", put.replacing)
        .executeTakeFirst();
      written += Number(result.numUpdatedRows);
    }
    return written;
  }

  async deleteEntries(deletes: readonly EntryDelete[]): Promise<number> {
    let deleted = 0;
    for (const d of deletes) {
      const result = await this.#tx
        .deleteFrom("entries")
        .where("store_uid", "=", d.storeUid)
        .where("key_id", "=", d.keyId)
        .where("version", "=", d.version)
        .executeTakeFirst();
      deleted += Number(result.numDeletedRows);
    }
    return deleted;
  }

  async listExpired(
    now: number,
    limit: number,
  ): Promise<(EntryRow & { readonly storeUid: Buffer })[]> {
    const rows = await this.#tx
      .selectFrom("entries")
      .select(["store_uid", ...ENTRY_COLUMNS])
      .where("expires_at", "is not", null)
      .where("expires_at", "<=", now)
      .orderBy("expires_at")
      .limit(limit)
      .execute();
    return rows.map((r) => ({ ...toEntryRow(r), storeUid: r.store_uid }));
  }

  async addCounts(deltas: readonly CountDelta[]): Promise<void> {
    const perStore = new Map<string, { uid: Buffer; entries: number; bytes: number }>();
    for (const d of deltas) {
      if (d.entries !== 0) {
        await this.#tx
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
      await this.#tx
        .updateTable("stores")
        .set((eb) => ({
          entry_count: eb("entry_count", "+", sum.entries),
          total_value_bytes: eb("total_value_bytes", "+", sum.bytes),
        }))
        .where("uid", "=", sum.uid)
        .execute();
    }
  }

  async insertToken(row: TokenRow, onlyIfNone: boolean): Promise<boolean> {
    if (onlyIfNone) {
      await this.#dialect.lockTokensForBootstrap(this.#tx);
      if ((await this.countTokens()) > 0) return false;
    }
    await this.#tx
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
        expires_at: row.expiresAt,
      })
      .execute();
    return true;
  }

  async revokeToken(id: string, revokedAt: number): Promise<TokenRow | undefined> {
    const row = await this.#tx
      .updateTable("tokens")
      .set((eb) => ({ revoked_at: eb.fn.coalesce("revoked_at", eb.val(revokedAt)) }))
      .where("id", "=", id)
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? undefined : toTokenRow(row);
  }

  async touchTokens(ids: readonly string[], usedAt: number): Promise<void> {
    if (ids.length === 0) return;
    await this.#tx
      .updateTable("tokens")
      .set({ last_used_at: usedAt })
      .where("id", "in", ids)
      .where((eb) => eb.or([eb("last_used_at", "is", null), eb("last_used_at", "<", usedAt)]))
      .execute();
  }

  async rewrapStoreKey(
    storeUid: Buffer,
    fromMasterKeyId: Buffer,
    wrappedKey: Buffer,
    masterKeyId: Buffer,
  ): Promise<boolean> {
    const result = await this.#tx
      .updateTable("stores")
      .set({ wrapped_key: wrappedKey, master_key_id: masterKeyId })
      .where("uid", "=", storeUid)
      .where("master_key_id", "=", fromMasterKeyId)
      .where("deleted_at", "is", null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async pruneAudit(checkpoint: AuditCheckpoint): Promise<number> {
    const result = await this.#tx
      .deleteFrom("audit_log")
      .where("chain_id", "=", checkpoint.chainId)
      .where("seq", "<=", checkpoint.seq)
      .executeTakeFirst();
    const values = {
      chain_id: checkpoint.chainId,
      seq: checkpoint.seq,
      hash: checkpoint.hash,
      key_id: checkpoint.keyId,
      pruned_at: checkpoint.prunedAt,
      mac: checkpoint.mac,
    };
    await this.#tx
      .insertInto("audit_checkpoints")
      .values(values)
      .onConflict((oc) =>
        oc.column("chain_id").doUpdateSet({
          seq: checkpoint.seq,
          hash: checkpoint.hash,
          key_id: checkpoint.keyId,
          pruned_at: checkpoint.prunedAt,
          mac: checkpoint.mac,
        }),
      )
      .execute();
    return Number(result.numDeletedRows);
  }

  async insertDashboardSession(row: DashboardSessionRow, now: number): Promise<void> {
    await this.#tx.deleteFrom("dashboard_sessions").where("expires_at", "<=", now).execute();
    await this.#tx
      .insertInto("dashboard_sessions")
      .values({
        id_hash: row.idHash,
        sealed_token: row.sealedToken,
        created_at: row.createdAt,
        expires_at: row.expiresAt,
      })
      .execute();
  }

  async deleteDashboardSession(idHash: Buffer): Promise<boolean> {
    const result = await this.#tx
      .deleteFrom("dashboard_sessions")
      .where("id_hash", "=", idHash)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async appendAudit(records: readonly ChainedAuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.#tx
      .insertInto("audit_log")
      .values(
        records.map((r) => ({
          chain_id: r.chainId,
          seq: r.seq,
          at: r.at,
          request_id: r.requestId,
          token_id: r.tokenId,
          method: r.method,
          store_id: r.storeId,
          key_id_prefix: r.keyIdPrefix,
          code: r.code,
          reason: r.reason,
          peer: r.peer,
          client_identity: r.clientIdentity,
          key_id: r.keyId,
          prev_hash: r.prevHash,
          hash: r.hash,
        })),
      )
      .execute();
  }
}

function columnsOf(row: EntryRow) {
  return {
    key_id: row.keyId,
    fingerprint: row.fingerprint,
    blob: row.blob,
    version: row.version,
    updated_at: row.updatedAt,
    expires_at: row.expiresAt,
  };
}
