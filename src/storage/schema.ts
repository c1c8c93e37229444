/**
 * The tables as kysely sees them. Dialect-neutral types only: raw bytes,
 * integers (Unix milliseconds for times, 0/1 for flags) and text.
 */
export interface Database {
  stores: StoresTable;
  store_secrets: StoreSecretsTable;
  entries: EntriesTable;
  tokens: TokensTable;
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
}
