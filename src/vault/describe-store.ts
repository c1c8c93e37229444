import { AT_REST_OVERHEAD } from "../crypto/at-rest.js";
import { storeNotFound } from "./entry-rules.js";
import type { SecretRow, StorageReads, StoreRow } from "./storage-port.js";
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
  return liveStoreView(reads, row);
}

/**
 * A store's view with counts that leave out entries which expired but are not
 * swept yet: an expired entry counts nowhere, even in the seconds before the
 * sweeper deletes it.
 */
export async function liveStoreView(reads: StorageReads, row: StoreRow): Promise<StoreView> {
  const now = Date.now();
  const [secrets, backlog] = await Promise.all([
    reads.listSecrets(row.uid),
    reads.expiredBacklog(row.uid, now),
  ]);
  if (backlog.length === 0) return storeView(row, secrets);
  let entries = 0;
  let bytes = 0;
  const bySecret = new Map<string, number>();
  for (const b of backlog) {
    entries += b.entries;
    bytes += b.storedBytes - b.entries * AT_REST_OVERHEAD;
    bySecret.set(b.fingerprint.toString("hex"), b.entries);
  }
  const liveSecrets: SecretRow[] = secrets.map((s) => ({
    ...s,
    entryCount: s.entryCount - (bySecret.get(s.fingerprint.toString("hex")) ?? 0),
  }));
  return storeView(
    { ...row, entryCount: row.entryCount - entries, totalValueBytes: row.totalValueBytes - bytes },
    liveSecrets,
  );
}
