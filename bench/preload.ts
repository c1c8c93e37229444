import { credentials, Metadata } from "@grpc/grpc-js";
import { AdminServiceClient } from "../gen/hexclave/v1/admin_service.js";
import { generateSecret, HexclaveClient } from "../src/client/index.js";
import { unaryCall } from "../src/client/unary-call.js";
import { deriveStoreKeys } from "../src/crypto/store-keys.js";
import { KeySpace } from "./key-space.js";
import { keyName, tokenValue } from "./token-values.js";

/** How long one admin call may take before the run fails instead of hanging. */
const ADMIN_TIMEOUT_MS = 30_000;

/** A store made for the bench, with a store-scoped token and the client secret its entries are sealed with. */
export interface BenchStore {
  readonly address: string;
  readonly storeId: string;
  /** An `hxk_` token with read and write access to the store only. */
  readonly token: string;
  /** The generated `hxs_` secret every entry is sealed under. */
  readonly secret: string;
  readonly salt: Uint8Array;
}

/**
 * Creates a store and a read/write token for it through the AdminService, as
 * an operator would with `hexclave stores create` and `hexclave tokens create`.
 *
 * @throws Error if an admin call fails.
 * @example
 * const store = await createBenchStore(server.address, server.adminToken, "bench");
 */
export async function createBenchStore(
  address: string,
  adminToken: string,
  storeId: string,
): Promise<BenchStore> {
  const admin = new AdminServiceClient(address, credentials.createInsecure());
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${adminToken}`);
  try {
    const created = await unaryCall(
      admin.createStore.bind(admin),
      { storeId, description: "benchmark" },
      metadata,
      ADMIN_TIMEOUT_MS,
    );
    const token = await unaryCall(
      admin.createToken.bind(admin),
      { name: `bench-${storeId}`, admin: false, grants: [{ storeId, read: true, write: true }] },
      metadata,
      ADMIN_TIMEOUT_MS,
    );
    const salt = created.store?.salt;
    if (salt === undefined) throw new Error("CreateStore returned no store");
    return { address, storeId, token: token.secret, secret: generateSecret(), salt };
  } finally {
    admin.close();
  }
}

/**
 * Writes entries `from` … `to`−1 through the real client SDK
 * (`store.setValue(name, token, { secret })`), `concurrency` calls at a time,
 * printing progress to stderr. Returns the key space of all `to` entries.
 *
 * @throws HexclaveError from the first write that fails.
 * @example
 * const space = await preload(store, 0, 100_000, 64);
 */
export async function preload(
  store: BenchStore,
  from: number,
  to: number,
  concurrency: number,
): Promise<KeySpace> {
  const client = new HexclaveClient({ address: store.address, token: store.token });
  try {
    const vault = await client.getDataVaultStore(store.storeId);
    let next = from;
    let lastReport = performance.now();
    const started = lastReport;
    const worker = async (): Promise<void> => {
      while (next < to) {
        const i = next++;
        await vault.setValue(keyName(i), tokenValue(), { secret: store.secret });
        if (performance.now() - lastReport > 10_000) {
          lastReport = performance.now();
          const rate = (next - from) / ((lastReport - started) / 1000);
          process.stderr.write(
            `  preload ${store.storeId}: ${next - from}/${to - from} (${rate.toFixed(0)}/s)\n`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  } finally {
    client.close();
  }
  const keys = await deriveStoreKeys(store.secret, store.storeId, store.salt);
  return new KeySpace(store.storeId, keys, to);
}
