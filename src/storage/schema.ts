/**
 * The tables as kysely sees them. Dialect-neutral types only: raw bytes,
 * integers (Unix milliseconds for times, 0/1 for flags) and text. The
 * PostgreSQL driver returns 64-bit integers as strings, so readers convert
 * every integer column with Number().
 */
export interface Database {
  stores: StoresTable;
  store_secrets: StoreSecretsTable;
  entries: EntriesTable;
  tokens: TokensTable;
  servers: ServersTable;
  audit_log: AuditLogTable;
  audit_checkpoints: AuditCheckpointsTable;
  dashboard_sessions: DashboardSessionsTable;
}

export interface StoresTable {
  uid: Buffer;
  id: string;
  description: string;
  salt: Buffer;
  /** The data key wrapped by the master key; zero bytes once the store is deleted. */
  wrapped_key: Buffer;
  master_key_id: Buffer;
  max_value_bytes: number;
  entry_count: number;
  total_value_bytes: number;
  created_at: number;
  /** The highest entry version handed out in this store (store-wide counter). */
  last_version: number;
  /** Set when the store is deleted; its rows are purged after. */
  deleted_at: number | null;
}

export interface StoreSecretsTable {
  store_uid: Buffer;
  fingerprint: Buffer;
  entry_count: number;
  registered_at: number;
}

export interface EntriesTable {
  store_uid: Buffer;
  key_id: Buffer;
  fingerprint: Buffer;
  /** The client's envelope, sealed again with the store's data key. */
  blob: Buffer;
  version: number;
  updated_at: number;
  /** When the entry stops existing; null: never. */
  expires_at: number | null;
}

export interface TokensTable {
  id: string;
  name: string;
  /** SHA-256 of the token's secret part; the token itself is never stored. */
  secret_hash: Buffer;
  admin: number;
  /** JSON array of {storeId, read, write}. */
  grants: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
  /** When the token stops working; null: never. */
  expires_at: number | null;
}

/** The servers using this database, and when each was last seen alive. */
export interface ServersTable {
  /** One id per server process and start. */
  id: string;
  /** Servers of one `--workers` group share it. */
  group_id: string;
  host: string;
  pid: number;
  started_at: number;
  heartbeat_at: number;
}

/** The audit log: hash chains, one per writing server process (docs/audit.md). */
export interface AuditLogTable {
  chain_id: string;
  seq: number;
  at: number;
  request_id: string;
  token_id: string | null;
  method: string;
  store_id: string | null;
  key_id_prefix: string | null;
  code: number;
  reason: string;
  peer: string;
  client_identity: string | null;
  /** Id of the master key whose audit key made `hash`. */
  key_id: Buffer;
  prev_hash: Buffer;
  hash: Buffer;
}

/** A chain's records up to `seq` were pruned; `hash` was the last one's (docs/audit.md). */
export interface AuditCheckpointsTable {
  chain_id: string;
  seq: number;
  hash: Buffer;
  key_id: Buffer;
  pruned_at: number;
  /** HMAC under the audit key over (chain_id, seq, hash, pruned_at): only the server can move it. */
  mac: Buffer;
}

/** Dashboard sign-ins (src/server/dashboard/dashboard-sessions.ts); deleted on sign-out. */
export interface DashboardSessionsTable {
  /** SHA-256 of the session id the browser holds in its cookie; never the id itself. */
  id_hash: Buffer;
  /** The admin token behind the session, sealed under a key derived from the session id. */
  sealed_token: Buffer;
  created_at: number;
  expires_at: number;
}
