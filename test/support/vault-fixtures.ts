import { randomBytes } from "node:crypto";
import type { Metadata, ServiceError } from "@grpc/grpc-js";
import type { Entry, KeyRef, StoreGrant } from "../../gen/hexclave/v1/types.js";
import type { ListEntriesRequest } from "../../gen/hexclave/v1/vault_service.js";
import { bearer, call, type RawClients } from "./grpc-clients.js";

/**
 * Opaque inputs for the data plane. The server treats key ids, fingerprints
 * and sealed values as bytes, so tests make them up instead of sealing.
 */

/** A random 32-byte key id. */
export function newKeyId(): Buffer {
  return randomBytes(32);
}

/** A random 8-byte secret fingerprint. */
export function newFingerprint(): Buffer {
  return randomBytes(8);
}

/** A key ref under `fingerprint`, with a fresh key id unless one is given. */
export function keyRef(fingerprint: Buffer, keyId: Buffer = newKeyId()): KeyRef {
  return { keyId, secretFingerprint: fingerprint };
}

let storeCounter = 0;

/** A store id no other test in this process uses. */
export function uniqueStoreId(prefix = "store"): string {
  storeCounter += 1;
  return `${prefix}-${process.pid}-${storeCounter}`;
}

/** Creates a store with the admin token; returns its id. */
export async function createStore(
  c: RawClients,
  adminToken: string,
  storeId: string,
  options: { description?: string; maxValueBytes?: number } = {},
): Promise<string> {
  await call(
    c.admin,
    c.admin.createStore,
    {
      storeId,
      description: options.description ?? "",
      ...(options.maxValueBytes === undefined
        ? {}
        : { maxValueBytes: BigInt(options.maxValueBytes) }),
    },
    bearer(adminToken),
  );
  return storeId;
}

/** Creates a token; returns its id and its secret text. */
export async function createToken(
  c: RawClients,
  adminToken: string,
  grants: StoreGrant[] | "admin",
  name = "test-token",
): Promise<{ id: string; secret: string }> {
  const res = await call(
    c.admin,
    c.admin.createToken,
    { name, admin: grants === "admin", grants: grants === "admin" ? [] : grants },
    bearer(adminToken),
  );
  return { id: res.token?.id ?? "", secret: res.secret };
}

/** Writes one opaque value unconditionally; returns the new version. */
export async function setValue(
  c: RawClients,
  token: string,
  storeId: string,
  key: KeyRef,
  sealedValue: Buffer,
): Promise<number> {
  const res = await call(
    c.vault,
    c.vault.setValue,
    { storeId, key, sealedValue, previousKeys: [] },
    bearer(token),
  );
  return Number(res.version);
}

/** Reads one entry by key ref; undefined if absent. */
export async function getValue(
  c: RawClients,
  token: string,
  storeId: string,
  key: KeyRef,
): Promise<Entry | undefined> {
  const res = await call(
    c.vault,
    c.vault.getValue,
    { storeId, key, previousKeys: [] },
    bearer(token),
  );
  return res.entry;
}

/**
 * Runs ListEntries to the end and returns its pages; rejects with the
 * stream's status error.
 */
export function listPages(
  c: RawClients,
  request: Partial<ListEntriesRequest> & { storeId: string },
  metadata: Metadata,
): Promise<Entry[][]> {
  return new Promise((resolve, reject) => {
    const pages: Entry[][] = [];
    const stream = c.vault.listEntries(
      { secretFingerprints: [], startAfterKeyId: Buffer.alloc(0), pageSize: 0n, ...request },
      metadata,
      { deadline: Date.now() + 20_000 },
    );
    stream.on("data", (page: { entries: Entry[] }) => pages.push(page.entries));
    stream.on("error", (error: ServiceError) => reject(error));
    stream.on("end", () => resolve(pages));
  });
}
