import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import {
  AT_REST_OVERHEAD,
  generateDataKey,
  masterKeyId,
  wrapDataKey,
} from "../../../src/crypto/at-rest.js";
import type { ValidKeyRef } from "../../../src/vault/assertions.js";
import type { Storage, StorageReads, StoreRow, TokenRow } from "../../../src/vault/storage-port.js";
import type {
  DeleteValueCommand,
  RegisterSecretCommand,
  SetValueCommand,
} from "../../../src/vault/write-commands.js";

/**
 * Commands and checks for the storage contract, in the port's own terms:
 * what the vault would send through `storage.write`, built by hand.
 */

/** A new store row, its data key wrapped under `masterKey`. */
export function newStoreRow(masterKey: Buffer, id: string): StoreRow {
  const dataKey = generateDataKey();
  const row: StoreRow = {
    uid: randomBytes(16),
    id,
    description: "",
    salt: randomBytes(32),
    wrappedKey: wrapDataKey(masterKey, id, dataKey),
    masterKeyId: masterKeyId(masterKey),
    maxValueBytes: 65_536,
    entryCount: 0,
    totalValueBytes: 0,
    createdAt: Date.now(),
    lastVersion: 0,
  };
  dataKey.fill(0);
  return row;
}

/** A key ref under `fingerprint`, with a fresh key id unless one is given. */
export function ref(fingerprint: Buffer, keyId: Buffer = randomBytes(32)): ValidKeyRef {
  return { keyId, fingerprint };
}

/** A SetValue command, unconditional and never expiring unless told. */
export function setValue(
  store: StoreRow,
  key: ValidKeyRef,
  options: {
    readonly previous?: readonly ValidKeyRef[];
    readonly expected?: number;
    readonly expiresAt?: number;
    readonly sealed?: Buffer;
  } = {},
): SetValueCommand {
  return {
    kind: "setValue",
    storeId: store.id,
    storeUid: store.uid,
    key,
    previous: options.previous ?? [],
    sealed: options.sealed ?? randomBytes(40 + (key.keyId[0] ?? 0)),
    expected: options.expected,
    expiresAt: options.expiresAt ?? null,
  };
}

/** A DeleteValue command under every ref given. */
export function deleteValue(
  store: StoreRow,
  refs: readonly ValidKeyRef[],
  expected?: number,
): DeleteValueCommand {
  return { kind: "deleteValue", storeId: store.id, storeUid: store.uid, refs, expected };
}

/** A RegisterSecret command, guarded by `known`. */
export function registerSecret(
  store: StoreRow,
  fingerprint: Buffer,
  known: Buffer | undefined,
): RegisterSecretCommand {
  return { kind: "registerSecret", storeId: store.id, storeUid: store.uid, fingerprint, known };
}

/** A token row that was never used nor revoked. */
export function newTokenRow(name = "contract"): TokenRow {
  return {
    id: randomBytes(8).toString("hex"),
    name,
    secretHash: randomBytes(32),
    admin: true,
    grants: [],
    createdAt: Date.now(),
    lastUsedAt: null,
    revokedAt: null,
    expiresAt: null,
  };
}

/** The reason a write was refused with; fails the test if it succeeded. */
export async function refusal(write: Promise<unknown>): Promise<string> {
  const error = await write.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "expected the write to be refused, but it succeeded").toBeDefined();
  return (error as { reason?: string }).reason ?? String(error);
}

/** Everything the database holds of one store, to compare before and after. */
export async function storeState(reads: StorageReads, store: StoreRow): Promise<unknown> {
  return {
    live: await reads.findStore(store.id),
    secrets: await reads.listSecrets(store.uid),
    entries: await allEntries(reads, store.uid),
  };
}

/** Every entry of a store, expired ones included, in key id order. */
export function allEntries(reads: StorageReads, storeUid: Buffer) {
  return reads.listEntries(storeUid, {
    fingerprints: [],
    afterKeyId: undefined,
    limit: 100_000,
    now: 0,
  });
}

/**
 * Asserts a store's entry and byte counts, and each secret's entry count,
 * against what it holds (expired entries count until they are swept).
 */
export async function expectCountsMatchContents(storage: Storage, storeId: string): Promise<void> {
  const store = await storage.reads.findStore(storeId);
  if (store === undefined) throw new Error(`store ${storeId} is gone`);
  const entries = await allEntries(storage.reads, store.uid);
  expect({ entries: store.entryCount, bytes: store.totalValueBytes }).toEqual({
    entries: entries.length,
    bytes: entries.reduce((sum, e) => sum + e.blob.length - AT_REST_OVERHEAD, 0),
  });
  const counted: Record<string, number> = {};
  for (const s of await storage.reads.listSecrets(store.uid)) {
    counted[s.fingerprint.toString("hex")] = s.entryCount;
  }
  const held: Record<string, number> = {};
  for (const hex of Object.keys(counted)) held[hex] = 0;
  for (const e of entries) {
    const hex = e.fingerprint.toString("hex");
    held[hex] = (held[hex] ?? 0) + 1;
  }
  expect(counted).toEqual(held);
}
