/**
 * The storage port: what the vault needs from a database, in the vault's own
 * terms. Adapters in src/storage implement it (SQLite, PostgreSQL); nothing
 * here knows SQL, a driver, a thread or a file. Times are Unix milliseconds;
 * ids and hashes are raw bytes. docs/storage.md explains the design.
 *
 * The rules that must hold with several writers — one version per write,
 * check-and-set, a secret registered once, one live store per id — are
 * enforced by the database through the primitives of {@link WriteTransaction}
 * (atomic increments, conditional writes, insert-if-absent), not by reading,
 * checking and writing from JavaScript.
 */

import type { ChainedAuditRecord } from "./audit-chain.js";
import type { WriteCommand, WriteResultOf } from "./write-commands.js";

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
  /** When the entry stops existing (reads treat it as absent from then on); null: never. */
  readonly expiresAt: number | null;
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
  /** When the token stops working; null: never. */
  readonly expiresAt: number | null;
}

/**
 * A dashboard session as stored (src/server/dashboard/dashboard-sessions.ts):
 * only a hash of the session id the browser holds, and the admin token it was
 * opened with sealed under a key derived from that id — so the database alone
 * can neither resume a session nor recover the token.
 */
export interface DashboardSessionRow {
  /** SHA-256 of the session id. */
  readonly idHash: Buffer;
  /** The admin token, AES-256-GCM-sealed under a key only the session id gives. */
  readonly sealedToken: Buffer;
  readonly createdAt: number;
  /** The session ends then, whatever else happens. */
  readonly expiresAt: number;
}

/** Which entries to list, in key id order. */
export interface EntryListQuery {
  /** Only entries under these fingerprints; empty means all. */
  readonly fingerprints: readonly Buffer[];
  /** Exclusive lower bound on the key id. */
  readonly afterKeyId: Buffer | undefined;
  readonly limit: number;
  /** Entries expired at this time are left out; 0 keeps them all. */
  readonly now: number;
}

/** Changes to a store's (and one of its secrets') entry and byte counts. */
export interface CountDelta {
  readonly storeUid: Buffer;
  readonly fingerprint: Buffer;
  readonly entries: number;
  readonly bytes: number;
}

/** One committed write transaction, as metrics see it. */
export interface WriteBatchReport {
  /** Write commands that shared the transaction. */
  readonly commands: number;
  /** From BEGIN to the end of COMMIT (its fsync included), in milliseconds. */
  readonly commitMs: number;
}

/** What an adapter can tell about its load, for metrics. */
export interface StorageStats {
  /** Write commands submitted and not yet settled (queued or in a transaction). */
  readonly pendingWrites: number;
  /** The connection pool, where there is one (PostgreSQL); undefined for SQLite. */
  readonly pool:
    | { readonly total: number; readonly idle: number; readonly waiting: number }
    | undefined;
}

/** Expired, not yet swept entries under one secret. */
export interface ExpiredBacklog {
  readonly fingerprint: Buffer;
  readonly entries: number;
  readonly storedBytes: number;
}

/** An entry to write, replacing exactly the row the writer saw (or none). */
export interface EntryPut {
  readonly storeUid: Buffer;
  readonly row: EntryRow;
  /** The version of the row being replaced; undefined: there must be no row. */
  readonly replacing: number | undefined;
}

/** An entry to delete, if it is still at the version the writer saw. */
export interface EntryDelete {
  readonly storeUid: Buffer;
  readonly keyId: Buffer;
  readonly version: number;
}

/** Which audit records to list, newest last. */
export interface AuditQuery {
  readonly storeId?: string | undefined;
  readonly tokenId?: string | undefined;
  /** Only records at or after this time (Unix ms). */
  readonly since?: number | undefined;
  /** Only records before this time. */
  readonly until?: number | undefined;
  /** Only records with this gRPC status code. */
  readonly code?: number | undefined;
  /** Only records of this method (its path). */
  readonly method?: string | undefined;
  readonly limit: number;
}

/** Where a chain continues after its oldest records were pruned. */
export interface AuditCheckpoint {
  readonly chainId: string;
  /** The last pruned record's seq and hash. */
  readonly seq: number;
  readonly hash: Buffer;
  /** The master key whose audit key made `mac`. */
  readonly keyId: Buffer;
  readonly prunedAt: number;
  /** HMAC under the audit key over (chainId, seq, prunedAt) chained from `hash`. */
  readonly mac: Buffer;
}

/** Reads, available inside and outside write transactions. */
export interface StorageReads {
  findStore(id: string): Promise<StoreRow | undefined>;
  listStores(): Promise<StoreRow[]>;
  listSecrets(storeUid: Buffer): Promise<SecretRow[]>;
  /**
   * Entries of a store that expired by `now` but the sweeper has not deleted
   * yet, summed per secret (bytes are the stored blobs' lengths): the counts
   * still include them until they are swept.
   */
  expiredBacklog(storeUid: Buffer, now: number): Promise<ExpiredBacklog[]>;
  /**
   * The entries that exist among `keyIds`, in any order: those not expired at
   * `now`, or every one (expired included) when `now` is null.
   */
  getEntries(storeUid: Buffer, keyIds: readonly Buffer[], now: number | null): Promise<EntryRow[]>;
  listEntries(storeUid: Buffer, query: EntryListQuery): Promise<EntryRow[]>;
  listTokens(includeRevoked: boolean): Promise<TokenRow[]>;
  countTokens(): Promise<number>;
  /** Stores whose key was destroyed but whose rows are not purged yet. */
  listDeletedStoreUids(): Promise<Buffer[]>;
  /** Audit records matching `query`, oldest first (the last `limit` of them). */
  listAudit(query: AuditQuery): Promise<ChainedAuditRecord[]>;
  /** Every audit chain's id, and its checkpoint if it was pruned. */
  listAuditChains(): Promise<{ chainId: string; checkpoint: AuditCheckpoint | undefined }[]>;
  /** Up to `limit` records of a chain after `afterSeq`, in seq order. */
  readAuditChain(chainId: string, afterSeq: number, limit: number): Promise<ChainedAuditRecord[]>;
  /** Up to `limit` records of each chain older than `before`, for retention: chain ids and last seq. */
  auditPrefixBefore(before: number): Promise<{ chainId: string; seq: number; hash: Buffer }[]>;
  /** The dashboard session with this id hash, expired or not; undefined once ended. */
  findDashboardSession(idHash: Buffer): Promise<DashboardSessionRow | undefined>;
}

/**
 * One write transaction: all of it commits, or none. Its primitives are the
 * database-enforced rules the vault builds on.
 */
export interface WriteTransaction extends StorageReads {
  /**
   * Takes `count` versions from a live store, atomically (an increment the
   * database returns), and holds the store until commit: no other writer,
   * in this process or another, writes to the store in between, so what
   * this transaction reads of the store from here on stays true until it
   * commits. `count` may be 0 to take the store without versions.
   *
   * @returns the store as held, its `lastVersion` the last version taken
   *   (versions lastVersion-count+1 … lastVersion); undefined if no live
   *   store has this uid.
   */
  takeVersions(storeUid: Buffer, count: number): Promise<StoreRow | undefined>;
  /** Inserts a store unless a live one has its id. @returns whether it was inserted. */
  insertStore(row: StoreRow): Promise<boolean>;
  /**
   * Overwrites a live store's wrapped data key and hides the store: its
   * entries can never be opened again. @returns the store as it was, or undefined.
   */
  destroyStoreKey(storeId: string, deletedAt: number): Promise<StoreRow | undefined>;
  /** Deletes up to `limit` entries of a deleted store; returns how many. */
  purgeEntries(storeUid: Buffer, limit: number): Promise<number>;
  /** Deletes a deleted store's own rows once its entries are gone. */
  deleteStoreRows(storeUid: Buffer): Promise<void>;
  /** Registers a secret with a store if it is not registered. @returns whether it was inserted. */
  insertSecret(storeUid: Buffer, fingerprint: Buffer, registeredAt: number): Promise<boolean>;
  deleteSecret(storeUid: Buffer, fingerprint: Buffer): Promise<void>;
  /** Writes entries, each only over the row its writer saw. @returns how many were written. */
  putEntries(puts: readonly EntryPut[]): Promise<number>;
  /** Deletes entries still at the version their writer saw. @returns how many were deleted. */
  deleteEntries(deletes: readonly EntryDelete[]): Promise<number>;
  /** Up to `limit` entries that expired at `now`, oldest expiry first, across stores. */
  listExpired(now: number, limit: number): Promise<(EntryRow & { readonly storeUid: Buffer })[]>;
  /** Adds to the per-store and per-secret entry and byte counts. */
  addCounts(deltas: readonly CountDelta[]): Promise<void>;
  /** Inserts a token; with onlyIfNone, only into a database without tokens. @returns whether it was inserted. */
  insertToken(row: TokenRow, onlyIfNone: boolean): Promise<boolean>;
  /** Marks a token revoked (keeping an earlier revocation time). @returns the token, or undefined. */
  revokeToken(id: string, revokedAt: number): Promise<TokenRow | undefined>;
  touchTokens(ids: readonly string[], usedAt: number): Promise<void>;
  /** Replaces a live store's wrapped key, if it is still wrapped under `fromMasterKeyId`. */
  rewrapStoreKey(
    storeUid: Buffer,
    fromMasterKeyId: Buffer,
    wrappedKey: Buffer,
    masterKeyId: Buffer,
  ): Promise<boolean>;
  /** Appends chained records to the audit log. */
  appendAudit(records: readonly ChainedAuditRecord[]): Promise<void>;
  /** Deletes a chain's records up to `checkpoint.seq` and records where it now starts. */
  pruneAudit(checkpoint: AuditCheckpoint): Promise<number>;
  /** Stores a new dashboard session, and deletes every session that expired by `now`. */
  insertDashboardSession(row: DashboardSessionRow, now: number): Promise<void>;
  /** Ends a dashboard session. @returns whether it existed. */
  deleteDashboardSession(idHash: Buffer): Promise<boolean>;
}

/** The state of the database as the server must report it. */
export type StorageCondition =
  /** Working. */
  | "ok"
  /** Unreachable (PostgreSQL down, network gone): calls fail UNAVAILABLE until it returns. */
  | "unavailable"
  /** Out of space: writes fail RESOURCE_EXHAUSTED, reads go on, until space returns. */
  | "disk-full"
  /** Damaged: nothing more is written; a restore from backup is needed. */
  | "corrupted";

/** The vault's database: reads, and writes that an adapter runs its own way. */
export interface Storage {
  readonly reads: StorageReads;
  /**
   * Whether other processes write to the same database (server replicas on
   * PostgreSQL, `--workers` on SQLite). The vault then keeps no entry cache
   * and trusts what it remembers of stores and tokens for at most a second.
   */
  readonly shared: boolean;
  /**
   * Runs one write command; resolves once it is durable. Adapters group
   * concurrent commands into one transaction (group commit) and run the
   * vault's batch logic (write-batch.ts) inside it.
   *
   * @throws VaultError from the command's checks (nothing written), OVERLOADED,
   *   SHUTTING_DOWN, STORAGE_UNAVAILABLE, DISK_FULL, DATA_CORRUPTED.
   */
  write<C extends WriteCommand>(command: C): Promise<WriteResultOf<C>>;
  /**
   * Makes deleted rows unrecoverable from the database's own files where the
   * engine allows it (SQLite: checkpoint and truncate the WAL, so old page
   * images holding a destroyed key are gone). Called after a store is deleted.
   */
  scrub(): Promise<void>;
  /** The database's condition now. */
  readonly condition: StorageCondition;
  /** Calls `listener` on every change of condition until the returned function is called. */
  onCondition(listener: (condition: StorageCondition, cause: unknown) => void): () => void;
  /** Its load now: pending writes, pool use. */
  stats(): StorageStats;
  /** Calls `listener` after every committed write transaction until the returned function is called. */
  onBatch(listener: (batch: WriteBatchReport) => void): () => void;
  /** Refuses new writes, commits queued ones, closes connections and threads. */
  close(): Promise<void>;
}
