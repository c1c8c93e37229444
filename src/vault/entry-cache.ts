import type { EntryView } from "./views.js";

/** Bytes counted per cached entry besides its envelope: map slot, object, buffers' headers. */
const ENTRY_OVERHEAD_BYTES = 200;

/**
 * Recently read and written entries, as the server returns them: the client's
 * envelope (still sealed by the client, so caching it reveals nothing the
 * wire does not) after the at-rest layer was opened. A hit skips the database
 * and the at-rest decryption. Least recently used entries go first once the
 * byte budget is full.
 *
 * Coherence, with one writer (this server): a write's result replaces the
 * cached entry when it is acknowledged, and removals drop it. Every write
 * also advances the epoch; a read offers what it loaded only if no write was
 * acknowledged while it was loading, so a slow read can never put back a
 * value that a write already replaced or deleted.
 *
 * @example
 * const hit = cache.get(store.uid, keyId);
 */
export class EntryCache {
  readonly #maxBytes: number;
  readonly #entries = new Map<string, Slot>();
  #bytes = 0;
  #epoch = 0;

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

  /** The cached entry, marking it recently used. */
  get(storeUid: Buffer, keyId: Buffer): EntryView | undefined {
    if (this.#maxBytes === 0) return undefined;
    const found = this.#entries.get(slotKey(storeUid, keyId));
    if (found === undefined) return undefined;
    found.used = true;
    return found.entry;
  }

  /** Caches what a read loaded, unless a write was acknowledged since `epoch`. */
  offer(storeUid: Buffer, entry: EntryView, epoch: number): void {
    if (epoch === this.#epoch) this.#put(slotKey(storeUid, entry.keyId), entry);
  }

  /** Records an acknowledged write: the new entry, and the key ids it removed. */
  written(storeUid: Buffer, entry: EntryView | undefined, removedKeyIds: readonly Buffer[]): void {
    this.#epoch += 1;
    for (const keyId of removedKeyIds) this.#delete(slotKey(storeUid, keyId));
    if (entry !== undefined) this.#put(slotKey(storeUid, entry.keyId), entry);
  }

  /** Drops every entry of a store (deleted). */
  dropStore(storeUid: Buffer): void {
    this.#epoch += 1;
    const prefix = storeUid.toString("latin1");
    for (const key of [...this.#entries.keys()]) {
      if (key.startsWith(prefix)) this.#delete(key);
    }
  }

  /** Drops everything. */
  clear(): void {
    this.#epoch += 1;
    this.#entries.clear();
    this.#bytes = 0;
  }

  #put(key: string, entry: EntryView): void {
    if (this.#maxBytes === 0) return;
    this.#delete(key);
    this.#entries.set(key, { entry, used: false });
    this.#bytes += size(entry);
    // Sweep from the oldest: a used entry gets a second chance at the back.
    while (this.#bytes > this.#maxBytes) {
      const [oldest, found] = this.#entries.entries().next().value as [string, Slot];
      this.#entries.delete(oldest);
      if (found.used && oldest !== key) {
        found.used = false;
        this.#entries.set(oldest, found);
      } else {
        this.#bytes -= size(found.entry);
      }
    }
  }

  #delete(key: string): void {
    const old = this.#entries.get(key);
    if (old === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= size(old.entry);
  }
}

interface Slot {
  readonly entry: EntryView;
  /** Read since the last sweep passed it. */
  used: boolean;
}

function slotKey(storeUid: Buffer, keyId: Buffer): string {
  // latin1 maps bytes 1:1 to code units: a cheap, exact string key.
  return storeUid.toString("latin1") + keyId.toString("latin1");
}

function size(entry: EntryView): number {
  return entry.sealedValue.length + ENTRY_OVERHEAD_BYTES;
}
