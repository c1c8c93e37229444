import type { EntryRow, StorageReads } from "../vault/storage-port.js";

interface Waiter {
  readonly keyId: Buffer;
  readonly now: number;
  readonly resolve: (rows: EntryRow[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Folds the point reads (one key id) that arrive in one turn of the event
 * loop into one query per store: on a networked database a round trip costs
 * more than the lookup, so 64 concurrent GetValues cost about one. Each
 * caller gets exactly the rows it would have read alone (expiry judged at its
 * own time). Everything else passes through.
 *
 * @example
 * const reads = new FoldedReads(new KyselyReads(db, hot));
 */
export class FoldedReads implements StorageReads {
  readonly #inner: StorageReads;
  #pending = new Map<string, { uid: Buffer; waiters: Waiter[] }>();
  #scheduled = false;

  constructor(inner: StorageReads) {
    this.#inner = inner;
  }

  getEntries(storeUid: Buffer, keyIds: readonly Buffer[], now: number | null): Promise<EntryRow[]> {
    const [keyId] = keyIds;
    if (keyIds.length !== 1 || keyId === undefined || now === null) {
      return this.#inner.getEntries(storeUid, keyIds, now);
    }
    return new Promise((resolve, reject) => {
      const key = storeUid.toString("latin1");
      let group = this.#pending.get(key);
      if (group === undefined) {
        group = { uid: storeUid, waiters: [] };
        this.#pending.set(key, group);
      }
      group.waiters.push({ keyId, now, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    const groups = this.#pending;
    this.#pending = new Map();
    this.#scheduled = false;
    for (const { uid, waiters } of groups.values()) {
      const keyIds = [
        ...new Map(waiters.map((w) => [w.keyId.toString("latin1"), w.keyId])).values(),
      ];
      const earliest = Math.min(...waiters.map((w) => w.now));
      this.#inner.getEntries(uid, keyIds, earliest).then(
        (rows) => {
          const byKey = new Map(rows.map((r) => [r.keyId.toString("latin1"), r]));
          for (const w of waiters) {
            const row = byKey.get(w.keyId.toString("latin1"));
            const live = row !== undefined && (row.expiresAt === null || row.expiresAt > w.now);
            w.resolve(live ? [row] : []);
          }
        },
        (error: unknown) => {
          for (const w of waiters) w.reject(error);
        },
      );
    }
  }

  findStore(id: string) {
    return this.#inner.findStore(id);
  }
  listStores() {
    return this.#inner.listStores();
  }
  listSecrets(storeUid: Buffer) {
    return this.#inner.listSecrets(storeUid);
  }
  expiredBacklog(storeUid: Buffer, now: number) {
    return this.#inner.expiredBacklog(storeUid, now);
  }
  listEntries(...args: Parameters<StorageReads["listEntries"]>) {
    return this.#inner.listEntries(...args);
  }
  listTokens(includeRevoked: boolean) {
    return this.#inner.listTokens(includeRevoked);
  }
  countTokens() {
    return this.#inner.countTokens();
  }
  listDeletedStoreUids() {
    return this.#inner.listDeletedStoreUids();
  }
  listAudit(...args: Parameters<StorageReads["listAudit"]>) {
    return this.#inner.listAudit(...args);
  }
  listAuditChains() {
    return this.#inner.listAuditChains();
  }
  readAuditChain(...args: Parameters<StorageReads["readAuditChain"]>) {
    return this.#inner.readAuditChain(...args);
  }
  auditPrefixBefore(before: number) {
    return this.#inner.auditPrefixBefore(before);
  }
  findDashboardSession(idHash: Buffer) {
    return this.#inner.findDashboardSession(idHash);
  }
}
