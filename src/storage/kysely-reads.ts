import type { Kysely, Selectable, Transaction } from "kysely";
import type { ChainedAuditRecord } from "../vault/audit-chain.js";
import type {
  AuditCheckpoint,
  AuditQuery,
  DashboardSessionRow,
  EntryListQuery,
  EntryRow,
  ExpiredBacklog,
  GrantRow,
  SecretRow,
  StorageReads,
  StoreRow,
  TokenRow,
} from "../vault/storage-port.js";
import { PreparedQuery } from "./prepared-query.js";
import type {
  AuditCheckpointsTable,
  AuditLogTable,
  Database,
  EntriesTable,
  StoresTable,
  TokensTable,
} from "./schema.js";

/** The hot reads, compiled once per database handle. */
export class HotReads {
  /** One entry by primary key, if it has not expired. */
  readonly getOne: PreparedQuery<"storeUid" | "keyId" | "now">;

  constructor(db: Kysely<Database>) {
    this.getOne = PreparedQuery.of(
      (s) =>
        db
          .selectFrom("entries")
          .select(ENTRY_COLUMNS)
          .where("store_uid", "=", s.storeUid)
          .where("key_id", "=", s.keyId)
          .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", s.now)]))
          .compile(),
      ["storeUid", "keyId", "now"],
    );
  }
}

export const ENTRY_COLUMNS = [
  "key_id",
  "fingerprint",
  "blob",
  "version",
  "updated_at",
  "expires_at",
] as const;

type EntrySelection = Pick<Selectable<EntriesTable>, (typeof ENTRY_COLUMNS)[number]>;

/**
 * The storage port's reads over kysely: the same SQL for every dialect
 * (portable SQL only; integers and raw bytes). Adapters may put a layer of
 * their own on top (PostgreSQL folds concurrent point reads into one query).
 */
export class KyselyReads implements StorageReads {
  constructor(
    protected readonly db: Kysely<Database> | Transaction<Database>,
    protected readonly hot: HotReads,
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

  async expiredBacklog(storeUid: Buffer, now: number): Promise<ExpiredBacklog[]> {
    const rows = await this.db
      .selectFrom("entries")
      .select((eb) => [
        "fingerprint",
        eb.fn.countAll().as("entries"),
        eb.fn.sum<number | string | bigint>(eb.fn("length", ["blob"])).as("bytes"),
      ])
      .where("store_uid", "=", storeUid)
      .where("expires_at", "is not", null)
      .where("expires_at", "<=", now)
      .groupBy("fingerprint")
      .execute();
    return rows.map((r) => ({
      fingerprint: r.fingerprint,
      entries: Number(r.entries),
      storedBytes: Number(r.bytes),
    }));
  }

  async getEntries(
    storeUid: Buffer,
    keyIds: readonly Buffer[],
    now: number | null,
  ): Promise<EntryRow[]> {
    if (keyIds.length === 0) return [];
    if (keyIds.length === 1 && now !== null) {
      const result = await this.db.executeQuery<EntrySelection>(
        this.hot.getOne.bind({ storeUid, keyId: keyIds[0], now }),
      );
      return result.rows.map(toEntryRow);
    }
    let select = this.db
      .selectFrom("entries")
      .select(ENTRY_COLUMNS)
      .where("store_uid", "=", storeUid)
      .where("key_id", "in", keyIds);
    if (now !== null) {
      select = select.where((eb) =>
        eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)]),
      );
    }
    return (await select.execute()).map(toEntryRow);
  }

  async listEntries(storeUid: Buffer, query: EntryListQuery): Promise<EntryRow[]> {
    let select = this.db
      .selectFrom("entries")
      .select(ENTRY_COLUMNS)
      .where("store_uid", "=", storeUid);
    if (query.afterKeyId !== undefined) select = select.where("key_id", ">", query.afterKeyId);
    if (query.fingerprints.length > 0) {
      select = select.where("fingerprint", "in", query.fingerprints);
    }
    if (query.now > 0) {
      const now = query.now;
      select = select.where((eb) =>
        eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)]),
      );
    }
    const rows = await select.orderBy("key_id").limit(query.limit).execute();
    return rows.map(toEntryRow);
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

  async listAudit(query: AuditQuery): Promise<ChainedAuditRecord[]> {
    let select = this.db.selectFrom("audit_log").selectAll();
    if (query.storeId !== undefined) select = select.where("store_id", "=", query.storeId);
    if (query.tokenId !== undefined) select = select.where("token_id", "=", query.tokenId);
    if (query.since !== undefined) select = select.where("at", ">=", query.since);
    if (query.until !== undefined) select = select.where("at", "<", query.until);
    if (query.code !== undefined) select = select.where("code", "=", query.code);
    if (query.method !== undefined) select = select.where("method", "=", query.method);
    const rows = await select
      .orderBy("at", "desc")
      .orderBy("chain_id", "desc")
      .orderBy("seq", "desc")
      .limit(query.limit)
      .execute();
    return rows.reverse().map(toAuditRecord);
  }

  async listAuditChains(): Promise<{ chainId: string; checkpoint: AuditCheckpoint | undefined }[]> {
    const chains = await this.db
      .selectFrom("audit_log")
      .select("chain_id")
      .distinct()
      .orderBy("chain_id")
      .execute();
    const checkpoints = await this.db.selectFrom("audit_checkpoints").selectAll().execute();
    const byChain = new Map(checkpoints.map((c) => [c.chain_id, toCheckpoint(c)]));
    const ids = new Set([...chains.map((c) => c.chain_id), ...byChain.keys()]);
    return [...ids].sort().map((chainId) => ({ chainId, checkpoint: byChain.get(chainId) }));
  }

  async readAuditChain(
    chainId: string,
    afterSeq: number,
    limit: number,
  ): Promise<ChainedAuditRecord[]> {
    const rows = await this.db
      .selectFrom("audit_log")
      .selectAll()
      .where("chain_id", "=", chainId)
      .where("seq", ">", afterSeq)
      .orderBy("seq")
      .limit(limit)
      .execute();
    return rows.map(toAuditRecord);
  }

  async auditPrefixBefore(
    before: number,
  ): Promise<{ chainId: string; seq: number; hash: Buffer }[]> {
    const lasts = await this.db
      .selectFrom("audit_log")
      .select((eb) => ["chain_id", eb.fn.max("seq").as("seq")])
      .where("at", "<", before)
      .groupBy("chain_id")
      .execute();
    const out: { chainId: string; seq: number; hash: Buffer }[] = [];
    for (const last of lasts) {
      const row = await this.db
        .selectFrom("audit_log")
        .select("hash")
        .where("chain_id", "=", last.chain_id)
        .where("seq", "=", Number(last.seq))
        .executeTakeFirst();
      if (row !== undefined)
        out.push({ chainId: last.chain_id, seq: Number(last.seq), hash: row.hash });
    }
    return out;
  }

  async findDashboardSession(idHash: Buffer): Promise<DashboardSessionRow | undefined> {
    const row = await this.db
      .selectFrom("dashboard_sessions")
      .selectAll()
      .where("id_hash", "=", idHash)
      .executeTakeFirst();
    return row === undefined
      ? undefined
      : {
          idHash: row.id_hash,
          sealedToken: row.sealed_token,
          createdAt: Number(row.created_at),
          expiresAt: Number(row.expires_at),
        };
  }
}

/** An audit_log row as the vault's ChainedAuditRecord. */
export function toAuditRecord(row: Selectable<AuditLogTable>): ChainedAuditRecord {
  return {
    chainId: row.chain_id,
    seq: Number(row.seq),
    at: Number(row.at),
    requestId: row.request_id,
    tokenId: row.token_id,
    method: row.method,
    storeId: row.store_id,
    keyIdPrefix: row.key_id_prefix,
    code: Number(row.code),
    reason: row.reason,
    peer: row.peer,
    clientIdentity: row.client_identity,
    keyId: row.key_id,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

function toCheckpoint(row: Selectable<AuditCheckpointsTable>): AuditCheckpoint {
  return {
    chainId: row.chain_id,
    seq: Number(row.seq),
    hash: row.hash,
    keyId: row.key_id,
    prunedAt: Number(row.pruned_at),
    mac: row.mac,
  };
}

/** A stores row as the port's StoreRow. */
export function toStoreRow(row: Selectable<StoresTable>): StoreRow {
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

/** An entries row as the port's EntryRow. */
export function toEntryRow(row: EntrySelection): EntryRow {
  return {
    keyId: row.key_id,
    fingerprint: row.fingerprint,
    blob: row.blob,
    version: Number(row.version),
    updatedAt: Number(row.updated_at),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
  };
}

/** A tokens row as the port's TokenRow. */
export function toTokenRow(row: Selectable<TokensTable>): TokenRow {
  return {
    id: row.id,
    name: row.name,
    secretHash: row.secret_hash,
    admin: Number(row.admin) === 1,
    grants: parseGrants(row.grants),
    createdAt: Number(row.created_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
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
