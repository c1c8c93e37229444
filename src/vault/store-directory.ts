import type { DataKeyRing } from "./data-key-ring.js";
import { storeNotFound } from "./entry-rules.js";
import type { SecretRow, StorageReads, StoreRow } from "./storage-port.js";

/** A live store with its data key unwrapped, as the hot path needs it. */
export interface LoadedStore {
  readonly row: StoreRow;
  readonly dataKey: Buffer;
  /** Registered secrets by fingerprint (hex). May lag another replica; see refreshSecrets. */
  secrets: ReadonlyMap<string, SecretRow>;
  readonly loadedAt: number;
}

/** Options for {@link StoreDirectory}. */
export interface StoreDirectoryOptions {
  /**
   * How long a store is trusted from memory. Changes made through this server
   * apply at once; this bounds how late one made through another replica of a
   * shared database (a deleted store) is seen. Default 5 s.
   */
  readonly cacheTtlMs?: number;
}

/**
 * Finds stores by id and keeps their unwrapped data keys in memory, so a call
 * costs no key unwrapping and no store lookup. Keys are zeroed when a store is
 * evicted.
 *
 * @example
 * const store = await directory.get("oauth-tokens");
 */
export class StoreDirectory {
  readonly #reads: StorageReads;
  readonly #keys: DataKeyRing;
  readonly #ttlMs: number;
  readonly #cache = new Map<string, LoadedStore>();
  readonly #loading = new Map<string, Promise<LoadedStore>>();

  constructor(reads: StorageReads, keys: DataKeyRing, options: StoreDirectoryOptions = {}) {
    this.#reads = reads;
    this.#keys = keys;
    this.#ttlMs = options.cacheTtlMs ?? 5_000;
  }

  /**
   * The live store with this id.
   *
   * @throws VaultError STORE_NOT_FOUND; DATA_CORRUPTED if its key cannot be unwrapped.
   */
  async get(storeId: string): Promise<LoadedStore> {
    const hit = this.#cache.get(storeId);
    if (hit !== undefined && Date.now() - hit.loadedAt < this.#ttlMs) return hit;
    // Concurrent first calls for a store share one load.
    let loading = this.#loading.get(storeId);
    if (loading === undefined) {
      loading = this.#load(storeId).finally(() => this.#loading.delete(storeId));
      this.#loading.set(storeId, loading);
    }
    return loading;
  }

  /** Re-reads a store's registered secrets, for when a caller's secret looks unknown. */
  async refreshSecrets(store: LoadedStore): Promise<void> {
    const rows = await this.#reads.listSecrets(store.row.uid);
    store.secrets = bySecretHex(rows);
  }

  /** Records a secret registered (or retired) by a committed write. */
  setSecrets(storeUid: Buffer, secrets: ReadonlyMap<string, SecretRow>): void {
    for (const store of this.#cache.values()) {
      if (store.row.uid.equals(storeUid)) store.secrets = new Map(secrets);
    }
  }

  /** Drops a store from memory and zeroes its key, e.g. after it was deleted. */
  evict(storeId: string): void {
    const store = this.#cache.get(storeId);
    if (store === undefined) return;
    this.#cache.delete(storeId);
    this.#keys.drop(store.row.uid);
  }

  /** Drops every store and zeroes every key. */
  clear(): void {
    for (const id of [...this.#cache.keys()]) this.evict(id);
  }

  async #load(storeId: string): Promise<LoadedStore> {
    // Trusted for the TTL from when it was read, not from when the reads finished: a slow
    // load must not stretch the bound on how late another server's change is seen.
    const loadedAt = Date.now();
    const row = await this.#reads.findStore(storeId);
    if (row === undefined) {
      this.evict(storeId);
      throw storeNotFound(storeId);
    }
    // A re-created store (same id, new uid) must not keep the old one's key.
    const previous = this.#cache.get(storeId);
    if (previous !== undefined && !previous.row.uid.equals(row.uid)) this.evict(storeId);
    // The ring keeps a key unwrapped across reloads: calls in flight still use it.
    const dataKey = this.#keys.keyFor(row);
    const secrets = bySecretHex(await this.#reads.listSecrets(row.uid));
    const loaded: LoadedStore = { row, dataKey, secrets, loadedAt };
    this.#cache.set(storeId, loaded);
    return loaded;
  }
}

/** Indexes secret rows by fingerprint in hex. */
export function bySecretHex(rows: readonly SecretRow[]): Map<string, SecretRow> {
  return new Map(rows.map((r) => [r.fingerprint.toString("hex"), r]));
}
