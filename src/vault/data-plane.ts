import { AT_REST_OVERHEAD, openAtRest, sealAtRest } from "../crypto/at-rest.js";
import {
  assertBytes,
  assertIntInRange,
  assertKeyRef,
  assertKeyRefs,
  assertSealedValue,
  assertStoreId,
  type ValidKeyRef,
} from "./assertions.js";
import { type Caller, requireAccess } from "./caller.js";
import { limits } from "./limits.js";
import type { EntryRow, Repository, RepositoryTransaction } from "./repository.js";
import { readAllowed, unknownSecret, writeRegisters } from "./secret-policy.js";
import { bySecretHex, type LoadedStore, type StoreDirectory } from "./store-directory.js";
import { VaultError } from "./vault-error.js";
import { type EntryView, entryView, type StoreView, storeView } from "./views.js";
import type { WriteBatch, WriteBatcher } from "./write-batcher.js";

/** A key ref as it arrives, before validation. */
export interface KeyRefInput {
  readonly keyId: Uint8Array;
  readonly secretFingerprint: Uint8Array;
}

/** Arguments of {@link DataPlane.getValue}. */
export interface GetValueInput {
  readonly storeId: string;
  readonly key: KeyRefInput | undefined;
  readonly previousKeys: readonly KeyRefInput[];
}

/** Arguments of {@link DataPlane.setValue}. */
export interface SetValueInput extends GetValueInput {
  readonly sealedValue: Uint8Array;
  readonly expectedVersion?: number | undefined;
}

/** Arguments of {@link DataPlane.deleteValue}. */
export interface DeleteValueInput extends GetValueInput {
  readonly expectedVersion?: number | undefined;
}

/** Arguments of {@link DataPlane.listEntries}. */
export interface ListEntriesInput {
  readonly storeId: string;
  readonly secretFingerprints: readonly Uint8Array[];
  readonly startAfterKeyId: Uint8Array;
  readonly pageSize: number;
}

/** What the data plane needs. */
export interface DataPlaneDeps {
  readonly repository: Repository;
  readonly stores: StoreDirectory;
  readonly batcher: WriteBatcher;
}

/**
 * The data plane's logic: opaque entries under opaque key ids, per-entry
 * versions with check-and-set, and the secret rules that tell a wrong secret
 * from a missing value. Every method checks the caller's access before it
 * looks the store up.
 */
export class DataPlane {
  readonly #repo: Repository;
  readonly #stores: StoreDirectory;
  readonly #batcher: WriteBatcher;

  constructor(deps: DataPlaneDeps) {
    this.#repo = deps.repository;
    this.#stores = deps.stores;
    this.#batcher = deps.batcher;
  }

  /**
   * A store's public parameters and counts.
   *
   * @throws VaultError INVALID_STORE_ID, PERMISSION_DENIED, STORE_NOT_FOUND.
   */
  async describeStore(caller: Caller, storeId: string): Promise<StoreView> {
    const id = assertStoreId(storeId);
    requireAccess(caller, id, "read");
    return describe(this.#repo, id);
  }

  /**
   * The first of `key`, then `previousKeys`, that exists; undefined if none.
   *
   * @throws VaultError PERMISSION_DENIED, STORE_NOT_FOUND, UNKNOWN_SECRET, INVALID_*.
   */
  async getValue(caller: Caller, input: GetValueInput): Promise<EntryView | undefined> {
    const id = assertStoreId(input.storeId);
    requireAccess(caller, id, "read");
    const refs = keyAndPrevious(input);
    const store = await this.#stores.get(id);
    await this.#requireReadable(store, refs);
    const rows = await this.#repo.getEntries(
      store.row.uid,
      refs.map((r) => r.keyId),
    );
    const row = firstInOrder(rows, refs);
    return row === undefined ? undefined : open(store, row);
  }

  /**
   * Reads up to 1,000 entries; missing ones are left out. Entries come back
   * in request order, each once.
   *
   * @throws VaultError TOO_MANY_KEYS, RESPONSE_TOO_LARGE, and as getValue.
   */
  async batchGetValues(
    caller: Caller,
    input: { readonly storeId: string; readonly keys: readonly KeyRefInput[] },
  ): Promise<EntryView[]> {
    const id = assertStoreId(input.storeId);
    requireAccess(caller, id, "read");
    const refs = assertKeyRefs(input.keys, "keys", { min: 1, max: limits.maxBatchKeys });
    const store = await this.#stores.get(id);
    await this.#requireReadable(store, refs);
    const rows = await this.#repo.getEntries(store.row.uid, uniqueKeyIds(refs));
    const byId = new Map(rows.map((r) => [r.keyId.toString("hex"), r]));
    const out: EntryView[] = [];
    let bytes = 0;
    for (const hex of new Set(refs.map((r) => r.keyId.toString("hex")))) {
      const row = byId.get(hex);
      if (row === undefined) continue;
      bytes += row.blob.length;
      if (bytes > limits.maxResponseBytes) {
        throw new VaultError(
          "RESPONSE_TOO_LARGE",
          `the values asked for exceed ${limits.maxResponseBytes} bytes in one response: ask for fewer keys per call`,
          { metadata: { limit: String(limits.maxResponseBytes) } },
        );
      }
      out.push(open(store, row));
    }
    return out;
  }

  /**
   * Streams a store's entries in key id order, a page at a time, until the
   * end or until `signal` aborts.
   *
   * @throws VaultError as getValue; INVALID_ARGUMENT for a bad page size or cursor.
   */
  async *listEntries(
    caller: Caller,
    input: ListEntriesInput,
    signal: AbortSignal,
  ): AsyncGenerator<EntryView[]> {
    const id = assertStoreId(input.storeId);
    requireAccess(caller, id, "read");
    if (input.secretFingerprints.length > limits.maxListFingerprints) {
      throw new VaultError(
        "TOO_MANY_KEYS",
        `"secret_fingerprints" may hold at most ${limits.maxListFingerprints} fingerprints`,
      );
    }
    const fingerprints = input.secretFingerprints.map((f, i) =>
      assertBytes(f, limits.fingerprintBytes, `secret_fingerprints[${i}]`, "INVALID_FINGERPRINT"),
    );
    let after =
      input.startAfterKeyId.length === 0
        ? undefined
        : assertBytes(
            input.startAfterKeyId,
            limits.keyIdBytes,
            "start_after_key_id",
            "INVALID_KEY_ID",
          );
    const pageSize =
      input.pageSize === 0
        ? limits.defaultPageSize
        : assertIntInRange(input.pageSize, "page_size", { min: 1, max: limits.maxPageSize });
    const store = await this.#stores.get(id);
    if (fingerprints.length > 0) {
      await this.#requireReadable(
        store,
        fingerprints.map((fingerprint) => ({ keyId: Buffer.alloc(0), fingerprint })),
      );
    }
    while (!signal.aborted) {
      const rows = await this.#repo.listEntries(store.row.uid, {
        fingerprints,
        afterKeyId: after,
        limit: pageSize,
      });
      if (rows.length === 0) return;
      // A page of large values could exceed the gRPC message size: split it by bytes.
      yield* splitByBytes(
        rows.map((row) => open(store, row)),
        limits.maxStreamPageBytes,
      );
      if (rows.length < pageSize) return;
      after = (rows[rows.length - 1] as EntryRow).keyId;
    }
  }

  /**
   * Writes one entry under `key`, removing it under `previousKeys` in the same
   * transaction; returns the new version once durable.
   *
   * @throws VaultError VERSION_CONFLICT, VALUE_TOO_LARGE, UNKNOWN_SECRET, and as getValue.
   */
  async setValue(caller: Caller, input: SetValueInput): Promise<{ version: number }> {
    const id = assertStoreId(input.storeId);
    requireAccess(caller, id, "write");
    const refs = keyAndPrevious(input);
    const [key, ...previous] = refs as [ValidKeyRef, ...ValidKeyRef[]];
    const expected = expectedVersion(input.expectedVersion);
    const store = await this.#stores.get(id);
    const sealed = assertSealedValue(input.sealedValue, store.row.maxValueBytes);
    // Sealing is CPU work: do it before joining the shared transaction.
    const blob = sealAtRest(store.dataKey, id, key.keyId, sealed);

    return this.#batcher.submit(async (tx, batch) => {
      const uid = await liveStoreUid(tx, batch, store);
      const secrets = await batch.secretsOf(uid);
      const register = writeRegisters(id, secrets, key, previous);
      const rows = await tx.getEntries(uid, uniqueKeyIds(refs));
      checkVersion(firstInOrder(rows, refs), expected);
      const now = Date.now();
      const version = rows.reduce((max, r) => Math.max(max, r.version), 0) + 1;
      if (register) {
        await tx.insertSecret(uid, key.fingerprint, now);
        secrets.set(key.fingerprint.toString("hex"), {
          fingerprint: key.fingerprint,
          entryCount: 0,
          registeredAt: now,
        });
        const snapshot = new Map(secrets);
        batch.afterCommit(() => this.#stores.setSecrets(uid, snapshot));
      }
      await tx.putEntry(uid, {
        keyId: key.keyId,
        fingerprint: key.fingerprint,
        blob,
        version,
        updatedAt: now,
      });
      await tx.deleteEntries(
        uid,
        rows.filter((r) => !r.keyId.equals(key.keyId)).map((r) => r.keyId),
      );
      batch.count(uid, key.fingerprint, 1, sealed.length);
      for (const r of rows) batch.count(uid, r.fingerprint, -1, -sealedSize(r));
      return { version };
    });
  }

  /**
   * Deletes one entry under `key` and `previousKeys`; true if one existed.
   *
   * @throws VaultError VERSION_CONFLICT, UNKNOWN_SECRET, and as getValue.
   */
  async deleteValue(caller: Caller, input: DeleteValueInput): Promise<{ deleted: boolean }> {
    const id = assertStoreId(input.storeId);
    requireAccess(caller, id, "write");
    const refs = keyAndPrevious(input);
    const expected = expectedVersion(input.expectedVersion);
    const store = await this.#stores.get(id);

    return this.#batcher.submit(async (tx, batch) => {
      const uid = await liveStoreUid(tx, batch, store);
      const secrets = await batch.secretsOf(uid);
      if (!readAllowed(secrets, refs)) throw unknownSecret(id, refs, secrets);
      const rows = await tx.getEntries(uid, uniqueKeyIds(refs));
      checkVersion(firstInOrder(rows, refs), expected);
      await tx.deleteEntries(
        uid,
        rows.map((r) => r.keyId),
      );
      for (const r of rows) batch.count(uid, r.fingerprint, -1, -sealedSize(r));
      return { deleted: rows.length > 0 };
    });
  }

  /**
   * Registers another secret with a store, guarded by one it already knows.
   * Registering a known secret again changes nothing.
   *
   * @throws VaultError UNKNOWN_SECRET if `knownFingerprint` is not registered.
   */
  async registerSecret(
    caller: Caller,
    input: {
      readonly storeId: string;
      readonly secretFingerprint: Uint8Array;
      readonly knownSecretFingerprint: Uint8Array;
    },
  ): Promise<StoreView> {
    const id = assertStoreId(input.storeId);
    requireAccess(caller, id, "write");
    const fingerprint = assertBytes(
      input.secretFingerprint,
      limits.fingerprintBytes,
      "secret_fingerprint",
      "INVALID_FINGERPRINT",
    );
    const known =
      input.knownSecretFingerprint.length === 0
        ? undefined
        : assertBytes(
            input.knownSecretFingerprint,
            limits.fingerprintBytes,
            "known_secret_fingerprint",
            "INVALID_FINGERPRINT",
          );
    const store = await this.#stores.get(id);

    await this.#batcher.submit(async (tx, batch) => {
      const uid = await liveStoreUid(tx, batch, store);
      const secrets = await batch.secretsOf(uid);
      const hex = fingerprint.toString("hex");
      if (secrets.has(hex)) return;
      if (secrets.size > 0 && (known === undefined || !secrets.has(known.toString("hex")))) {
        throw unknownSecret(
          id,
          known === undefined ? [] : [{ keyId: Buffer.alloc(0), fingerprint: known }],
          secrets,
        );
      }
      const now = Date.now();
      await tx.insertSecret(uid, fingerprint, now);
      secrets.set(hex, { fingerprint, entryCount: 0, registeredAt: now });
      const snapshot = new Map(secrets);
      batch.afterCommit(() => this.#stores.setSecrets(uid, snapshot));
    });
    return describe(this.#repo, id);
  }

  /**
   * Forgets a secret no entry is sealed under, so it can no longer be used.
   * Retiring an unknown secret changes nothing.
   *
   * @throws VaultError SECRET_IN_USE while entries remain under it.
   */
  async retireSecret(
    caller: Caller,
    input: { readonly storeId: string; readonly secretFingerprint: Uint8Array },
  ): Promise<StoreView> {
    const id = assertStoreId(input.storeId);
    requireAccess(caller, id, "write");
    const fingerprint = assertBytes(
      input.secretFingerprint,
      limits.fingerprintBytes,
      "secret_fingerprint",
      "INVALID_FINGERPRINT",
    );
    const store = await this.#stores.get(id);

    await this.#batcher.submit(async (tx, batch) => {
      const uid = await liveStoreUid(tx, batch, store);
      const secrets = await batch.secretsOf(uid);
      const hex = fingerprint.toString("hex");
      if (!secrets.has(hex)) return;
      // The entries themselves are the authority, not the counters.
      const remaining = await tx.listEntries(uid, {
        fingerprints: [fingerprint],
        afterKeyId: undefined,
        limit: 1,
      });
      if (remaining.length > 0) {
        throw new VaultError(
          "SECRET_IN_USE",
          `entries in store "${id}" are still sealed under secret ${hex}: re-seal them first ("hexclave rotate-secret ${id}")`,
          { metadata: { store_id: id, fingerprint: hex } },
        );
      }
      await tx.deleteSecret(uid, fingerprint);
      secrets.delete(hex);
      const snapshot = new Map(secrets);
      batch.afterCommit(() => this.#stores.setSecrets(uid, snapshot));
    });
    return describe(this.#repo, id);
  }

  async #requireReadable(store: LoadedStore, refs: readonly ValidKeyRef[]): Promise<void> {
    if (readAllowed(store.secrets, refs)) return;
    // Another replica may have registered the secret since the store was cached.
    await this.#stores.refreshSecrets(store);
    if (!readAllowed(store.secrets, refs)) throw unknownSecret(store.row.id, refs, store.secrets);
  }
}

/** Reads a store's view fresh from the database (counts change with every write). */
export async function describe(repo: Repository, id: string): Promise<StoreView> {
  const row = await repo.findStore(id);
  if (row === undefined) throw storeNotFound(id);
  return storeView(row, [...bySecretHex(await repo.listSecrets(row.uid)).values()]);
}

function storeNotFound(id: string): VaultError {
  return new VaultError("STORE_NOT_FOUND", `store "${id}" does not exist`, {
    metadata: { store_id: id },
  });
}

/** The store's uid if it is still live in this transaction (it may have been deleted since it was cached). */
async function liveStoreUid(
  tx: RepositoryTransaction,
  batch: WriteBatch,
  store: LoadedStore,
): Promise<Buffer> {
  const live = await batch.liveStore(store.row.id, () => tx.findStore(store.row.id));
  if (live === undefined || !live.uid.equals(store.row.uid)) throw storeNotFound(store.row.id);
  return live.uid;
}

function keyAndPrevious(input: GetValueInput): ValidKeyRef[] {
  const key = assertKeyRef(input.key, "key");
  const previous = assertKeyRefs(input.previousKeys, "previous_keys", {
    min: 0,
    max: limits.maxPreviousKeys,
  });
  if (previous.some((r) => r.keyId.equals(key.keyId))) {
    throw new VaultError("INVALID_KEY_ID", `"previous_keys" must not repeat "key"`);
  }
  return [key, ...previous];
}

function expectedVersion(value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  return assertIntInRange(value, "expected_version", { min: 0, max: Number.MAX_SAFE_INTEGER });
}

function checkVersion(current: EntryRow | undefined, expected: number | undefined): void {
  if (expected === undefined) return;
  const actual = current?.version ?? 0;
  if (actual === expected) return;
  throw new VaultError(
    "VERSION_CONFLICT",
    expected === 0
      ? `the entry already exists (version ${actual}); nothing was written`
      : `the entry is at version ${actual}, not ${expected}; read it again and retry`,
    { metadata: { expected_version: String(expected), current_version: String(actual) } },
  );
}

/** A stored entry's size as the client sent it: total_value_bytes counts sealed values, not at-rest overhead. */
function sealedSize(row: EntryRow): number {
  return row.blob.length - AT_REST_OVERHEAD;
}

function* splitByBytes(entries: readonly EntryView[], maxBytes: number): Generator<EntryView[]> {
  let page: EntryView[] = [];
  let bytes = 0;
  for (const entry of entries) {
    if (page.length > 0 && bytes + entry.sealedValue.length > maxBytes) {
      yield page;
      page = [];
      bytes = 0;
    }
    page.push(entry);
    bytes += entry.sealedValue.length;
  }
  if (page.length > 0) yield page;
}

function uniqueKeyIds(refs: readonly ValidKeyRef[]): Buffer[] {
  const seen = new Map<string, Buffer>();
  for (const r of refs) seen.set(r.keyId.toString("hex"), r.keyId);
  return [...seen.values()];
}

function firstInOrder(
  rows: readonly EntryRow[],
  refs: readonly ValidKeyRef[],
): EntryRow | undefined {
  for (const ref of refs) {
    const row = rows.find((r) => r.keyId.equals(ref.keyId));
    if (row !== undefined) return row;
  }
  return undefined;
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
