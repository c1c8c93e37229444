import { masterKeyId, unwrapDataKey, wrapDataKey } from "../crypto/at-rest.js";
import type { Storage } from "./storage-port.js";

/** Options for {@link rotateMasterKey}. */
export interface MasterKeyRotation {
  /** The key to wrap every store's data key under from now on. */
  readonly newKey: Buffer;
  /** The keys stores may be wrapped under now (the current one, and any older one). */
  readonly oldKeys: readonly Buffer[];
  /** Told after each store: how many are done, of how many. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** What a rotation did. */
export interface RotationReport {
  readonly newKeyId: string;
  /** Stores re-wrapped by this run. */
  readonly rewrapped: number;
  /** Stores already under the new key (a previous run's work, or created since). */
  readonly alreadyNew: number;
  /** Stores that could not be re-wrapped, and why. */
  readonly failed: readonly { readonly storeId: string; readonly detail: string }[];
  /** Live stores still under another key once the run ended (created meanwhile by a server with the old key). */
  readonly remaining: number;
}

/**
 * Re-wraps every live store's data key under a new master key, one store
 * per transaction. The data keys themselves do not change, so no entry is
 * touched and a server holding a store's data key in memory goes on using it;
 * only the 61-byte wrapped key and the master key id in the store's row change.
 *
 * Each write is conditional on the store still being under the key it was
 * read under (the storage port's rewrapStoreKey), so two runs at once, or a
 * run racing a store's deletion, never overwrite each other. After a crash,
 * run it again: stores already under the new key are skipped. Until it has
 * finished, servers need both keys (the new one current, the old one as a
 * previous key); a server holding only the old key cannot open a re-wrapped
 * store it has not opened yet.
 *
 * @throws VaultError from the storage (unavailable, shutting down); stores
 *   done so far stay done.
 * @example
 * const report = await rotateMasterKey(storage, { newKey, oldKeys: [oldKey] });
 */
export async function rotateMasterKey(
  storage: Storage,
  rotation: MasterKeyRotation,
): Promise<RotationReport> {
  const newId = masterKeyId(rotation.newKey);
  const oldById = new Map(rotation.oldKeys.map((k) => [masterKeyId(k).toString("hex"), k]));
  const stores = await storage.reads.listStores();
  let rewrapped = 0;
  let alreadyNew = 0;
  const failed: { storeId: string; detail: string }[] = [];
  for (const [index, store] of stores.entries()) {
    if (store.masterKeyId.equals(newId)) {
      alreadyNew += 1;
    } else {
      const oldKey = oldById.get(store.masterKeyId.toString("hex"));
      if (oldKey === undefined) {
        failed.push({
          storeId: store.id,
          detail: `it is wrapped under master key ${store.masterKeyId.toString("hex")}, which was not given`,
        });
      } else {
        let dataKey: Buffer | undefined;
        try {
          dataKey = unwrapDataKey(oldKey, store.id, store.wrappedKey);
        } catch {
          failed.push({
            storeId: store.id,
            detail: `its data key does not open under master key ${store.masterKeyId.toString("hex")}: the row was altered`,
          });
        }
        if (dataKey !== undefined) {
          const wrappedKey = wrapDataKey(rotation.newKey, store.id, dataKey);
          dataKey.fill(0);
          const done = await storage.write({
            kind: "rewrapStoreKey",
            storeUid: store.uid,
            fromMasterKeyId: store.masterKeyId,
            wrappedKey,
            masterKeyId: newId,
          });
          // Not done: deleted meanwhile, or re-wrapped by another run; either way nothing is left to do.
          if (done) rewrapped += 1;
          else alreadyNew += 1;
        }
      }
    }
    rotation.onProgress?.(index + 1, stores.length);
  }
  const remaining = (await storage.reads.listStores()).filter(
    (s) => !s.masterKeyId.equals(newId),
  ).length;
  return { newKeyId: newId.toString("hex"), rewrapped, alreadyNew, failed, remaining };
}
