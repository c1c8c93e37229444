import { computeKeyId } from "../../../src/crypto/key-id.js";
import { seal } from "../../../src/crypto/seal.js";
import { deriveStoreKeys } from "../../../src/crypto/store-keys.js";
import { openStorage } from "../../../src/storage/open-storage.js";
import { serverIdentity } from "../../../src/storage/server-registry.js";

/** What to write. */
export interface BulkFill {
  readonly dataDir: string;
  readonly databaseUrl?: string | undefined;
  readonly masterKey: Buffer;
  readonly storeId: string;
  /** A secret the store has registered. */
  readonly secret: string;
  readonly count: number;
  readonly name: (i: number) => string;
  readonly value: (i: number) => string;
}

/** Writes in flight at once, and per transaction: big transactions, few fsyncs. */
const IN_FLIGHT = 8192;
const PER_TRANSACTION = 4096;

/**
 * Writes many real values fast, for tests that need a big store: each value
 * sealed by the client's own code with the secret (the SDK's seal and key
 * id), then handed to the storage port's group commit directly — the
 * server's write path from the command on (sealing at rest, versions,
 * counts), without one gRPC call per value. No server may run on the
 * database meanwhile (SQLite: this takes its data directory).
 *
 * @example
 * await bulkFill({ dataDir, masterKey, storeId: "big", secret, count: 50_000, name: (i) => `k${i}`, value: (i) => `v${i}` });
 */
export async function bulkFill(fill: BulkFill): Promise<void> {
  const storage = await openStorage({
    dataDir: fill.dataDir,
    databaseUrl: fill.databaseUrl,
    masterKeys: [fill.masterKey],
    server: serverIdentity(),
    writes: { maxBatchSize: PER_TRANSACTION, maxQueued: 2 * IN_FLIGHT },
  });
  try {
    const store = await storage.reads.findStore(fill.storeId);
    if (store === undefined) throw new Error(`no store "${fill.storeId}" to fill`);
    const keys = await deriveStoreKeys(fill.secret, fill.storeId, store.salt);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < fill.count) {
        const i = next;
        next += 1;
        const name = fill.name(i);
        await storage.write({
          kind: "setValue",
          storeId: fill.storeId,
          storeUid: store.uid,
          key: { keyId: computeKeyId(keys, name), fingerprint: keys.fingerprint },
          previous: [],
          sealed: seal(keys, name, fill.value(i)),
          expected: undefined,
          expiresAt: null,
        });
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    keys.destroy();
  } finally {
    await storage.close();
  }
}
