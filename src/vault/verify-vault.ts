import { masterKeyId, openAtRest, unwrapDataKey } from "../crypto/at-rest.js";
import { sealedSize } from "./entry-rules.js";
import type { StorageReads } from "./storage-port.js";

/** One thing `verify` found wrong. */
export interface VerifyProblem {
  /** What kind of problem: stable, for scripts. */
  readonly kind:
    | "store-key"
    | "entry-at-rest"
    | "unregistered-secret"
    | "store-counts"
    | "secret-counts";
  readonly storeId: string;
  /** The entry's key id prefix (hex), for entry problems. */
  readonly keyIdPrefix?: string;
  readonly detail: string;
}

/** What `verify` checked and found. */
export interface VerifyReport {
  readonly stores: number;
  readonly entries: number;
  readonly problems: readonly VerifyProblem[];
}

/** Entries read per page. */
const PAGE = 1000;

/**
 * Checks what only the vault can check, with the master key and no client
 * secret: every live store's data key unwraps; every entry opens at rest
 * under its store and key id (so a row whose key id, store or blob changed
 * on disk is found — such a row otherwise just reads as "no value"); every
 * entry's secret is registered; the entry and byte counts match what is
 * there. It reads everything once and changes nothing.
 *
 * @example
 * const report = await verifyVault(reads, [masterKey], (done) => console.log(done));
 */
export async function verifyVault(
  reads: StorageReads,
  masterKeys: readonly Buffer[],
  onProgress?: (entries: number) => void,
): Promise<VerifyReport> {
  const problems: VerifyProblem[] = [];
  const byId = new Map(masterKeys.map((k) => [masterKeyId(k).toString("hex"), k]));
  const stores = await reads.listStores();
  let entries = 0;
  for (const store of stores) {
    const masterKey = byId.get(store.masterKeyId.toString("hex"));
    if (masterKey === undefined) {
      problems.push({
        kind: "store-key",
        storeId: store.id,
        detail: `the data key is wrapped under master key ${store.masterKeyId.toString("hex")}, which was not given (${[...byId.keys()].join(", ")})`,
      });
      continue;
    }
    let dataKey: Buffer;
    try {
      dataKey = unwrapDataKey(masterKey, store.id, store.wrappedKey);
    } catch {
      problems.push({
        kind: "store-key",
        storeId: store.id,
        detail:
          "the wrapped data key does not open under the master key: the store row was altered",
      });
      continue;
    }
    const secrets = await reads.listSecrets(store.uid);
    const registered = new Map(secrets.map((s) => [s.fingerprint.toString("hex"), s]));
    const perSecret = new Map<string, number>();
    let count = 0;
    let bytes = 0;
    let after: Buffer | undefined;
    for (;;) {
      const page = await reads.listEntries(store.uid, {
        fingerprints: [],
        afterKeyId: after,
        limit: PAGE,
        now: 0,
      });
      for (const row of page) {
        count += 1;
        bytes += sealedSize(row);
        const fp = row.fingerprint.toString("hex");
        perSecret.set(fp, (perSecret.get(fp) ?? 0) + 1);
        try {
          openAtRest(dataKey, store.id, row.keyId, row.blob);
        } catch {
          problems.push({
            kind: "entry-at-rest",
            storeId: store.id,
            keyIdPrefix: row.keyId.subarray(0, 4).toString("hex"),
            detail: "the row does not open at rest: its key id, store or stored bytes were altered",
          });
        }
        if (!registered.has(fp)) {
          problems.push({
            kind: "unregistered-secret",
            storeId: store.id,
            keyIdPrefix: row.keyId.subarray(0, 4).toString("hex"),
            detail: `the entry is sealed under secret ${fp}, which the store has not registered`,
          });
        }
      }
      entries += page.length;
      onProgress?.(entries);
      if (page.length < PAGE) break;
      after = page[page.length - 1]?.keyId;
    }
    dataKey.fill(0);
    if (count !== store.entryCount || bytes !== store.totalValueBytes) {
      problems.push({
        kind: "store-counts",
        storeId: store.id,
        detail: `the store counts ${store.entryCount} entries and ${store.totalValueBytes} bytes; it holds ${count} and ${bytes}`,
      });
    }
    for (const [fp, secret] of registered) {
      const found = perSecret.get(fp) ?? 0;
      if (found !== secret.entryCount) {
        problems.push({
          kind: "secret-counts",
          storeId: store.id,
          detail: `secret ${fp} counts ${secret.entryCount} entries; ${found} are sealed under it`,
        });
      }
    }
  }
  return { stores: stores.length, entries, problems };
}
