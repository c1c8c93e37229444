import { storeNotFound } from "./entry-rules.js";
import type { StorageReads } from "./storage-port.js";
import { bySecretHex } from "./store-directory.js";
import { type StoreView, storeView } from "./views.js";

/**
 * A store's public view read fresh from the database: its counts change with
 * every write, so it is never served from a cache.
 *
 * @throws VaultError STORE_NOT_FOUND.
 * @example
 * const view = await describe(reads, "oauth-tokens");
 */
export async function describe(reads: StorageReads, id: string): Promise<StoreView> {
  const row = await reads.findStore(id);
  if (row === undefined) throw storeNotFound(id);
  return storeView(row, [...bySecretHex(await reads.listSecrets(row.uid)).values()]);
}
