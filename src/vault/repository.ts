/**
 * The storage port: what the vault needs from a database, in the vault's own
 * terms. Adapters in src/storage implement it for each dialect; nothing here
 * knows SQL or a driver. Times are Unix milliseconds; ids and hashes are raw
 * bytes.
 */

/** A store as stored. `wrappedKey` is its data key wrapped by the master key. */
export interface StoreRow {
  /** Internal identity: a re-created store with the same id is a different store. */
  readonly uid: Buffer;
  readonly id: string;
  readonly description: string;
  readonly salt: Buffer;
  readonly wrappedKey: Buffer;
  readonly masterKeyId: Buffer;
  readonly maxValueBytes: number;
  readonly entryCount: number;
  readonly totalValueBytes: number;
  readonly createdAt: number;
  /** The highest entry version handed out in this store. */
  readonly lastVersion: number;
}

/** A client secret a store knows, by fingerprint. */
export interface SecretRow {
  readonly fingerprint: Buffer;
  readonly entryCount: number;
  readonly registeredAt: number;
}

/** An entry as stored: `blob` is the client's envelope sealed again at rest. */
export interface EntryRow {
  readonly keyId: Buffer;
  readonly fingerprint: Buffer;
  readonly blob: Buffer;
  readonly version: number;
  readonly updatedAt: number;
}

/** One store's access in a token. */
export interface GrantRow {
  readonly storeId: string;
  readonly read: boolean;
  readonly write: boolean;
}

/** An access token as stored: only the hash of its secret part. */
export interface TokenRow {
  readonly id: string;
  readonly name: string;
  readonly secretHash: Buffer;
  readonly admin: boolean;
  readonly grants: readonly GrantRow[];
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
  readonly revokedAt: number | null;
}

/** Which entries to list, in key id order. */
export interface EntryListQuery {
  /** Only entries under these fingerprints; empty means all. */
  readonly fingerprints: readonly Buffer[];
  /** Exclusive lower bound on the key id. */
  readonly afterKeyId: Buffer | undefined;
  readonly limit: number;
}

/** A change to a store's counters, applied at the end of a write transaction. */
export interface CountDelta {
  readonly storeUid: Buffer;
  readonly fingerprint: Buffer;
  readonly entries: number;
  readonly bytes: number;
}

/** Reads, available inside and outside transactions. */
export interface RepositoryReads {
  findStore(id: string): Promise<StoreRow | undefined>;
  listStores(): Promise<StoreRow[]>;
  listSecrets(storeUid: Buffer): Promise<SecretRow[]>;
  /** The entries that exist among `keyIds`, in any order. */
  getEntries(storeUid: Buffer, keyIds: readonly Buffer[]): Promise<EntryRow[]>;
  listEntries(storeUid: Buffer, query: EntryListQuery): Promise<EntryRow[]>;
  findToken(id: string): Promise<TokenRow | undefined>;
  listTokens(includeRevoked: boolean): Promise<TokenRow[]>;
  countTokens(): Promise<number>;
  /** Stores whose key was destroyed but whose rows are not purged yet. */
  listDeletedStoreUids(): Promise<Buffer[]>;
}

/** Reads and writes inside one transaction: all of it commits, or none. */
export interface RepositoryTransaction extends RepositoryReads {
  insertStore(row: StoreRow): Promise<void>;
  /** Overwrites the wrapped data key and hides the store: its entries can never be opened again. */
  destroyStoreKey(storeUid: Buffer, deletedAt: number): Promise<void>;
  /** Deletes up to `limit` entries of a deleted store; returns how many. */
  purgeEntries(storeUid: Buffer, limit: number): Promise<number>;
  /** Deletes a deleted store's own rows once its entries are gone. */
  deleteStoreRows(storeUid: Buffer): Promise<void>;
  insertSecret(storeUid: Buffer, fingerprint: Buffer, registeredAt: number): Promise<void>;
  deleteSecret(storeUid: Buffer, fingerprint: Buffer): Promise<void>;
  /** Inserts or replaces one entry. */
  putEntry(storeUid: Buffer, row: EntryRow): Promise<void>;
  deleteEntries(storeUid: Buffer, keyIds: readonly Buffer[]): Promise<void>;
  /** Adds to the per-store and per-secret entry and byte counts. */
  applyCountDeltas(deltas: readonly CountDelta[]): Promise<void>;
  /** Records the highest entry version handed out in a store. */
  setLastVersion(storeUid: Buffer, lastVersion: number): Promise<void>;
  insertToken(row: TokenRow): Promise<void>;
  revokeToken(id: string, revokedAt: number): Promise<void>;
  touchTokens(ids: readonly string[], usedAt: number): Promise<void>;
}

/** A database the vault can use. */
export interface Repository extends RepositoryReads {
  /** Runs `work` in one transaction; it is durable when the promise resolves. */
  transaction<T>(work: (tx: RepositoryTransaction) => Promise<T>): Promise<T>;
  /**
   * Makes deleted rows unrecoverable from the database's own files where the
   * engine allows it (SQLite: checkpoint and truncate the WAL, so old page
   * images holding a destroyed key are gone). Called after a store is deleted.
   */
  scrub(): Promise<void>;
  close(): Promise<void>;
}
