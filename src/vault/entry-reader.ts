import { openAtRest } from "../crypto/at-rest.js";
import type { ValidKeyRef } from "./assertions.js";
import type { EntryCache } from "./entry-cache.js";
import { newest, uniqueKeyIds } from "./entry-rules.js";
import { limits } from "./limits.js";
import type { EntryListQuery, EntryRow, StorageReads } from "./storage-port.js";
import type { LoadedStore } from "./store-directory.js";
import { VaultError } from "./vault-error.js";
import { type EntryView, entryView } from "./views.js";

/**
 * Reads entries: from the entry cache when it can answer, else from the
 * database with the at-rest layer opened (and the result offered to the cache).
 */
export class EntryReader {
  readonly #reads: StorageReads;
  readonly #cache: EntryCache;

  constructor(reads: StorageReads, cache: EntryCache) {
    this.#reads = reads;
    this.#cache = cache;
  }

  /** The newest copy among the refs' entries, or undefined. */
  async newest(store: LoadedStore, refs: readonly ValidKeyRef[]): Promise<EntryView | undefined> {
    const uid = store.row.uid;
    const now = Date.now();
    // A hit is conclusive only for a single ref: another copy could be newer.
    if (refs.length === 1) {
      const hit = this.#cache.get(uid, (refs[0] as ValidKeyRef).keyId, now);
      if (hit !== undefined) return hit;
    }
    const epoch = this.#cache.epoch;
    const rows = await this.#reads.getEntries(uid, uniqueKeyIds(refs), now);
    const row = newest(rows);
    if (row === undefined) return undefined;
    const entry = open(store, row);
    this.#cache.offer(uid, entry, epoch);
    return entry;
  }

  /** Every ref's entry that exists, in request order, each once. */
  async all(store: LoadedStore, refs: readonly ValidKeyRef[]): Promise<EntryView[]> {
    const uid = store.row.uid;
    const now = Date.now();
    const keyIds = uniqueKeyIds(refs);
    const found = new Map<string, EntryView>();
    const missing: Buffer[] = [];
    for (const keyId of keyIds) {
      const hit = this.#cache.get(uid, keyId, now);
      if (hit === undefined) missing.push(keyId);
      else found.set(keyId.toString("latin1"), hit);
    }
    if (missing.length > 0) {
      const epoch = this.#cache.epoch;
      for (const row of await this.#reads.getEntries(uid, missing, now)) {
        const entry = open(store, row);
        this.#cache.offer(uid, entry, epoch);
        found.set(row.keyId.toString("latin1"), entry);
      }
    }
    const out: EntryView[] = [];
    let bytes = 0;
    for (const keyId of keyIds) {
      const entry = found.get(keyId.toString("latin1"));
      if (entry === undefined) continue;
      bytes += entry.sealedValue.length;
      if (bytes > limits.maxResponseBytes) {
        throw new VaultError(
          "RESPONSE_TOO_LARGE",
          `the values asked for exceed ${limits.maxResponseBytes} bytes in one response: ask for fewer keys per call`,
          { metadata: { limit: String(limits.maxResponseBytes) } },
        );
      }
      out.push(entry);
    }
    return out;
  }

  /**
   * Pages of a store's entries in key id order (not cached: a listing would
   * evict the hot set). A page holds at most `query.limit` entries and
   * `maxStreamPageBytes` of sealed values; rows are fetched in chunks no
   * bigger than that byte budget allows for the store's largest values, so
   * a listing holds at most about two pages however large its values are.
   */
  async *pages(
    store: LoadedStore,
    query: EntryListQuery,
    signal: AbortSignal,
  ): AsyncGenerator<EntryView[]> {
    const budget = limits.maxStreamPageBytes;
    const chunk = Math.max(1, Math.min(query.limit, Math.floor(budget / store.row.maxValueBytes)));
    let after = query.afterKeyId;
    let page: EntryView[] = [];
    let bytes = 0;
    while (!signal.aborted) {
      const want = Math.min(chunk, query.limit - page.length);
      const rows = await this.#reads.listEntries(store.row.uid, {
        ...query,
        afterKeyId: after,
        limit: want,
        now: Date.now(),
      });
      for (const row of rows) {
        const entry = open(store, row);
        if (page.length > 0 && bytes + entry.sealedValue.length > budget) {
          yield page;
          page = [];
          bytes = 0;
        }
        page.push(entry);
        bytes += entry.sealedValue.length;
        if (page.length === query.limit) {
          yield page;
          page = [];
          bytes = 0;
        }
      }
      if (rows.length < want) break;
      after = (rows[rows.length - 1] as EntryRow).keyId;
    }
    if (page.length > 0 && !signal.aborted) yield page;
  }
}

function open(store: LoadedStore, row: EntryRow): EntryView {
  try {
    return entryView(row, openAtRest(store.dataKey, store.row.id, row.keyId, row.blob));
  } catch (cause) {
    throw new VaultError(
      "DATA_CORRUPTED",
      "a stored value failed its integrity check and cannot be returned",
      { cause, metadata: { store_id: store.row.id } },
    );
  }
}
