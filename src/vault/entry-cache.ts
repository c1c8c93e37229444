import type { EntryView } from "./views.js";

/** Bytes counted per cached entry besides its bytes: map slot, key string, slot object, buffer header. */
const ENTRY_OVERHEAD_BYTES = 240;
const KEY_ID_BYTES = 32;
const FINGERPRINT_BYTES = 8;

/**
 * Recently read and written entries, as the server returns them: the client's
 * envelope (still sealed by the client, so caching it reveals nothing the
 * wire does not carry) after the at-rest layer was opened. A hit skips the
 * database and the at-rest decryption. Once the byte budget is full, entries
 * not used since the last sweep go first (CLOCK: a hit only sets a bit, where
 * moving the entry to the back of an LRU list would cost a map delete and
 * insert per read).
 *
 * Coherence, with one writer (this server): a write's result replaces the
 * cached entry when it is acknowledged, and removals drop it. Every write
 * also advances the epoch; a read offers what it loaded only if no write was
 * acknowledged while it was loading, so a slow read can never put back a
 * value that a write already replaced or deleted.
 *
 * Memory: each entry is one allocation of its own (key id ‖ fingerprint ‖
 * envelope) and one small slot. Small Buffers are otherwise slices of Node's
 * shared 8 KiB pool, where a long-lived slice pins its whole slab, and every
 * extra object per entry grows the old generation V8 keeps.
 *
 * @example
 * const hit = cache.get(store.uid, keyId);
 */
export class EntryCache {
  readonly #maxBytes: number;
  readonly #slots = new Map<string, Slot>();
  #bytes = 0;
  #epoch = 0;
  #hits = 0;
  #misses = 0;

  /** @param maxBytes budget in bytes; 0 disables the cache. */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Advances on every acknowledged write; reads compare it before offering. */
  get epoch(): number {
    return this.#epoch;
  }

  /** Bytes held, for metrics and tests. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Lookups answered from the cache, and lookups that went to the database, since start. */
  get counts(): { readonly hits: number; readonly misses: number } {
    return { hits: this.#hits, misses: this.#misses };
  }

  /** The cached entry if it has not expired at `now`, marked as recently used. */
  get(storeUid: Buffer, keyId: Buffer, now: number): EntryView | undefined {
    if (this.#maxBytes === 0) return undefined;
    const slot = this.#slots.get(slotKey(storeUid, keyId));
    if (slot === undefined || (slot.expiresAt !== null && slot.expiresAt <= now)) {
      this.#misses += 1;
      return undefined;
    }
    this.#hits += 1;
    slot.used = true;
    return viewOf(slot);
  }

  /** Caches what a read loaded, unless a write was acknowledged since `epoch`. */
  offer(storeUid: Buffer, entry: EntryView, epoch: number): void {
    if (epoch === this.#epoch) this.#put(slotKey(storeUid, entry.keyId), entry);
  }

  /**
   * Records an acknowledged write: drops the key ids it removed and refreshes
   * the entry it wrote if that entry is cached. A write does not add an
   * entry: bulk writes (imports, rotations) must not push out what is read.
   */
  written(storeUid: Buffer, entry: EntryView | undefined, removedKeyIds: readonly Buffer[]): void {
    this.#epoch += 1;
    for (const keyId of removedKeyIds) this.#delete(slotKey(storeUid, keyId));
    if (entry === undefined) return;
    const key = slotKey(storeUid, entry.keyId);
    if (this.#slots.has(key)) this.#put(key, entry);
  }

  /** Drops every entry of a store (deleted). */
  dropStore(storeUid: Buffer): void {
    this.#epoch += 1;
    const prefix = storeUid.toString("latin1");
    for (const key of [...this.#slots.keys()]) {
      if (key.startsWith(prefix)) this.#delete(key);
    }
  }

  /** Drops everything. */
  clear(): void {
    this.#epoch += 1;
    this.#slots.clear();
    this.#bytes = 0;
  }

  #put(key: string, entry: EntryView): void {
    if (this.#maxBytes === 0) return;
    this.#delete(key);
    const slot = slotOf(entry);
    this.#slots.set(key, slot);
    this.#bytes += size(slot);
    // Sweep from the oldest: a used entry gets a second chance at the back.
    while (this.#bytes > this.#maxBytes) {
      const [oldest, found] = this.#slots.entries().next().value as [string, Slot];
      this.#slots.delete(oldest);
      if (found.used && oldest !== key) {
        found.used = false;
        this.#slots.set(oldest, found);
      } else {
        this.#bytes -= size(found);
      }
    }
  }

  #delete(key: string): void {
    const old = this.#slots.get(key);
    if (old === undefined) return;
    this.#slots.delete(key);
    this.#bytes -= size(old);
  }
}

interface Slot {
  /** key id (32) ‖ fingerprint (8) ‖ envelope, in one allocation. */
  readonly bytes: Buffer;
  readonly version: number;
  readonly updatedAt: number;
  readonly expiresAt: number | null;
  /** Read since the last sweep passed it. */
  used: boolean;
}

function slotKey(storeUid: Buffer, keyId: Buffer): string {
  // latin1 maps bytes 1:1 to code units: a cheap, exact string key.
  return storeUid.toString("latin1") + keyId.toString("latin1");
}

function slotOf(entry: EntryView): Slot {
  const bytes = Buffer.allocUnsafeSlow(KEY_ID_BYTES + FINGERPRINT_BYTES + entry.sealedValue.length);
  entry.keyId.copy(bytes, 0);
  entry.fingerprint.copy(bytes, KEY_ID_BYTES);
  entry.sealedValue.copy(bytes, KEY_ID_BYTES + FINGERPRINT_BYTES);
  return {
    bytes,
    version: entry.version,
    updatedAt: entry.updatedAt,
    expiresAt: entry.expiresAt,
    used: false,
  };
}

function viewOf(slot: Slot): EntryView {
  const { bytes } = slot;
  return {
    keyId: bytes.subarray(0, KEY_ID_BYTES),
    fingerprint: bytes.subarray(KEY_ID_BYTES, KEY_ID_BYTES + FINGERPRINT_BYTES),
    sealedValue: bytes.subarray(KEY_ID_BYTES + FINGERPRINT_BYTES),
    version: slot.version,
    updatedAt: slot.updatedAt,
    expiresAt: slot.expiresAt,
  };
}

function size(slot: Slot): number {
  return slot.bytes.length + ENTRY_OVERHEAD_BYTES;
}
