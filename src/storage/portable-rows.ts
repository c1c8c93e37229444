import type { Kysely, Selectable } from "kysely";
import type {
  AuditCheckpointsTable,
  AuditLogTable,
  Database,
  EntriesTable,
  StoreSecretsTable,
  StoresTable,
  TokensTable,
} from "./schema.js";

/**
 * The vault's rows as they are stored, read the same way from either engine:
 * every column, integers as numbers (the PostgreSQL driver returns 64-bit
 * integers as strings), bytes as Buffers. What a logical copy moves and a
 * digest covers. The `servers` table is not here: it says which processes
 * use one database, which means nothing in another.
 */

/** The tables a logical copy moves, each with its columns in a fixed order (the digest's order). */
export const PORTABLE_COLUMNS = {
  stores: [
    "uid",
    "id",
    "description",
    "salt",
    "wrapped_key",
    "master_key_id",
    "max_value_bytes",
    "entry_count",
    "total_value_bytes",
    "created_at",
    "last_version",
    "deleted_at",
  ],
  store_secrets: ["store_uid", "fingerprint", "entry_count", "registered_at"],
  entries: ["store_uid", "key_id", "fingerprint", "blob", "version", "updated_at", "expires_at"],
  tokens: [
    "id",
    "name",
    "secret_hash",
    "admin",
    "grants",
    "created_at",
    "last_used_at",
    "revoked_at",
    "expires_at",
  ],
  audit_log: [
    "chain_id",
    "seq",
    "at",
    "request_id",
    "token_id",
    "method",
    "store_id",
    "key_id_prefix",
    "code",
    "reason",
    "peer",
    "client_identity",
    "key_id",
    "prev_hash",
    "hash",
  ],
  audit_checkpoints: ["chain_id", "seq", "hash", "key_id", "pruned_at", "mac"],
} as const satisfies { [T in PortableTable]: readonly (keyof Database[T] & string)[] };

/** A table a logical copy moves. */
export type PortableTable =
  | "stores"
  | "store_secrets"
  | "entries"
  | "tokens"
  | "audit_log"
  | "audit_checkpoints";

const INTEGER_COLUMNS: { readonly [T in PortableTable]: ReadonlySet<string> } = {
  stores: new Set([
    "max_value_bytes",
    "entry_count",
    "total_value_bytes",
    "created_at",
    "last_version",
    "deleted_at",
  ]),
  store_secrets: new Set(["entry_count", "registered_at"]),
  entries: new Set(["version", "updated_at", "expires_at"]),
  tokens: new Set(["admin", "created_at", "last_used_at", "revoked_at", "expires_at"]),
  audit_log: new Set(["seq", "at", "code"]),
  audit_checkpoints: new Set(["seq", "pruned_at"]),
};

/** A row of a portable table, normalized. */
export type PortableRow<T extends PortableTable> = Selectable<Database[T]>;

/** Integers as numbers (null stays null), whatever the driver returned. */
export function normalize<T extends PortableTable>(table: T, row: object): PortableRow<T> {
  const out: Record<string, unknown> = { ...row };
  for (const column of INTEGER_COLUMNS[table]) {
    const value = out[column];
    if (value !== null && value !== undefined) out[column] = Number(value);
  }
  return out as PortableRow<T>;
}

/** The live stores (not deleted), by uid: their rows are the copy's unit of work. */
export async function liveStores(db: Kysely<Database>): Promise<Selectable<StoresTable>[]> {
  const rows = await db
    .selectFrom("stores")
    .selectAll()
    .where("deleted_at", "is", null)
    .orderBy("uid")
    .execute();
  return rows.map((r) => normalize("stores", r));
}

/** A store's secrets, by fingerprint. */
export async function storeSecrets(
  db: Kysely<Database>,
  storeUid: Buffer,
): Promise<Selectable<StoreSecretsTable>[]> {
  const rows = await db
    .selectFrom("store_secrets")
    .selectAll()
    .where("store_uid", "=", storeUid)
    .orderBy("fingerprint")
    .execute();
  return rows.map((r) => normalize("store_secrets", r));
}

/** Up to `limit` of a store's entries after `afterKeyId`, in key id order (expired ones too). */
export async function entriesPage(
  db: Kysely<Database>,
  storeUid: Buffer,
  afterKeyId: Buffer | undefined,
  limit: number,
): Promise<Selectable<EntriesTable>[]> {
  let select = db.selectFrom("entries").selectAll().where("store_uid", "=", storeUid);
  if (afterKeyId !== undefined) select = select.where("key_id", ">", afterKeyId);
  const rows = await select.orderBy("key_id").limit(limit).execute();
  return rows.map((r) => normalize("entries", r));
}

/** Every token, revoked ones too, sorted by id byte for byte (not by a collation). */
export async function allTokens(db: Kysely<Database>): Promise<Selectable<TokensTable>[]> {
  const rows = await db.selectFrom("tokens").selectAll().execute();
  return rows.map((r) => normalize("tokens", r)).sort((a, b) => byBytes(a.id, b.id));
}

/**
 * Every audit chain's id, sorted byte for byte: PostgreSQL's ORDER BY on text
 * follows the database's collation, which need not agree with SQLite's.
 */
export async function auditChainIds(db: Kysely<Database>): Promise<string[]> {
  const rows = await db.selectFrom("audit_log").select("chain_id").distinct().execute();
  return rows.map((r) => r.chain_id).sort(byBytes);
}

/** Up to `limit` records of a chain after `afterSeq`, in seq order. */
export async function auditPage(
  db: Kysely<Database>,
  chainId: string,
  afterSeq: number,
  limit: number,
): Promise<Selectable<AuditLogTable>[]> {
  const rows = await db
    .selectFrom("audit_log")
    .selectAll()
    .where("chain_id", "=", chainId)
    .where("seq", ">", afterSeq)
    .orderBy("seq")
    .limit(limit)
    .execute();
  return rows.map((r) => normalize("audit_log", r));
}

/** Every retention checkpoint, sorted by chain id byte for byte. */
export async function auditCheckpoints(
  db: Kysely<Database>,
): Promise<Selectable<AuditCheckpointsTable>[]> {
  const rows = await db.selectFrom("audit_checkpoints").selectAll().execute();
  return rows
    .map((r) => normalize("audit_checkpoints", r))
    .sort((a, b) => byBytes(a.chain_id, b.chain_id));
}

/** Compares two strings by their UTF-8 bytes. */
export function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
