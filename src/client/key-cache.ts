import { createHmac, randomBytes } from "node:crypto";
import { deriveStoreKeys, type StoreKeys } from "../crypto/store-keys.js";

/** (secret, store) pairs a client keeps keys for; past it the least recently used go first. */
export const DEFAULT_KEY_CACHE_SIZE = 64;

/**
 * Derived store keys, one derivation per (secret, store id, store salt) per
 * client: a hand-made secret costs one scrypt (≈0.5-1 s, 128 MiB) the first time and
 * nothing after. Concurrent first calls share one derivation; a failed one is
 * forgotten so the next call retries.
 *
 * The secret itself is never kept. Entries are indexed by an HMAC of it under
 * a random per-client key, so the index cannot be matched against a table of
 * hashes of common secrets, nor correlated between processes.
 *
 * @example
 * const keys = await cache.get(secret, "oauth-tokens", store.salt);
 */
export class KeyCache {
  readonly #indexKey = randomBytes(32);
  readonly #entries = new Map<string, Promise<StoreKeys>>();
  readonly #maxSize: number;

  constructor(maxSize = DEFAULT_KEY_CACHE_SIZE) {
    this.#maxSize = maxSize;
  }

  /**
   * The keys `secret` gives for this store, derived at most once.
   *
   * @throws CryptoError WEAK_SECRET or INVALID_INPUT (callers convert it).
   */
  get(secret: string, storeId: string, storeSalt: Uint8Array): Promise<StoreKeys> {
    const index = this.#index(secret, storeId, storeSalt);
    const hit = this.#entries.get(index);
    if (hit !== undefined) {
      // Re-insert: a Map iterates in insertion order, so the front is the least recently used.
      this.#entries.delete(index);
      this.#entries.set(index, hit);
      return hit;
    }
    const derived = deriveStoreKeys(secret, storeId, storeSalt);
    this.#entries.set(index, derived);
    derived.catch(() => {
      if (this.#entries.get(index) === derived) this.#entries.delete(index);
    });
    this.#evictBeyondLimit();
    return derived;
  }

  /** Zeroes every cached key and empties the cache (the client is closing). */
  clear(): void {
    for (const keys of this.#entries.values()) {
      keys.then(
        (k) => k.destroy(),
        () => {},
      );
    }
    this.#entries.clear();
    this.#indexKey.fill(0);
  }

  #evictBeyondLimit(): void {
    // Evicted keys are not destroyed: a call in flight may still be using them.
    // They hold no reference from here and are collected with their last user.
    while (this.#entries.size > this.#maxSize) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  #index(secret: string, storeId: string, storeSalt: Uint8Array): string {
    const id = Buffer.from(storeId, "utf8");
    return createHmac("sha256", this.#indexKey)
      .update(Buffer.of(id.length))
      .update(id)
      .update(storeSalt)
      .update(secret, "utf8")
      .digest("hex");
  }
}
