import {
  assertBytes,
  assertKeyRef,
  assertKeyRefs,
  assertSealedValue,
  assertStoreId,
  assertUint64InRange,
  type ValidKeyRef,
} from "./assertions.js";
import type { Audited } from "./audit-record.js";
import { type Caller, requireAccess } from "./caller.js";
import { describe } from "./describe-store.js";
import type { EntryCache } from "./entry-cache.js";
import type { EntryReader } from "./entry-reader.js";
import { type DurationInput, ENTRY_EXPIRY, expiryOf } from "./expiry.js";
import { limits } from "./limits.js";
import { readAllowed, unknownSecret } from "./secret-policy.js";
import type { SecretRow, Storage, StorageReads } from "./storage-port.js";
import { bySecretHex, type LoadedStore, type StoreDirectory } from "./store-directory.js";
import { VaultError } from "./vault-error.js";
import type { EntryView, StoreView } from "./views.js";

/** A key ref as it arrives, before validation. */
export interface KeyRefInput {
  readonly keyId: Uint8Array;
  readonly secretFingerprint: Uint8Array;
}

/** Arguments of {@link DataPlane.getValue}. */
export interface GetValueInput {
  readonly storeId: string;
  readonly key?: KeyRefInput | undefined;
  readonly previousKeys: readonly KeyRefInput[];
}

/** Arguments of {@link DataPlane.setValue}. */
export interface SetValueInput extends GetValueInput {
  readonly sealedValue: Uint8Array;
  readonly expectedVersion?: bigint | undefined;
  /** The entry expires this long after the server receives the write. */
  readonly ttl?: DurationInput | undefined;
  /** The entry expires at this time (the server's clock). */
  readonly expireTime?: Date | undefined;
}

/** Arguments of {@link DataPlane.deleteValue}. */
export interface DeleteValueInput extends GetValueInput {
  readonly expectedVersion?: bigint | undefined;
}

/** Arguments of {@link DataPlane.listEntries}. */
export interface ListEntriesInput {
  readonly storeId: string;
  readonly secretFingerprints: readonly Uint8Array[];
  readonly startAfterKeyId: Uint8Array;
  readonly pageSize: bigint;
}

/** What the data plane needs. */
export interface DataPlaneDeps {
  readonly reads: StorageReads;
  readonly stores: StoreDirectory;
  readonly entries: EntryReader;
  readonly cache: EntryCache;
  readonly storage: Pick<Storage, "write">;
}

/**
 * The data plane's logic: opaque entries under opaque key ids, per-entry
 * versions with check-and-set, and the secret rules that tell a wrong secret
 * from a missing value. Every method checks the caller's access before it
 * looks the store up. Writes run as commands in the storage's transactions
 * (entry-writes.ts); their acknowledged results update the caches here.
 */
export class DataPlane {
  readonly #deps: DataPlaneDeps;

  constructor(deps: DataPlaneDeps) {
    this.#deps = deps;
  }

  /**
   * A store's public parameters and counts.
   *
   * @throws VaultError INVALID_STORE_ID, PERMISSION_DENIED, STORE_NOT_FOUND.
   */
  async describeStore(caller: Caller, storeId: string): Promise<StoreView> {
    const id = assertStoreId(storeId);
    requireAccess(caller, id, "read");
    return describe(this.#deps.reads, id);
  }

  /**
   * The newest copy of the entry under `key` and `previousKeys` (the highest
   * version: the one written last); undefined if none exists.
   *
   * @throws VaultError PERMISSION_DENIED, STORE_NOT_FOUND, UNKNOWN_SECRET, INVALID_*.
   */
  async getValue(caller: Caller, input: GetValueInput): Promise<EntryView | undefined> {
    const id = assertStoreId(input.storeId);
    requireAccess(caller, id, "read");
    const refs = keyAndPrevious(input);
    const store = await this.#deps.stores.get(id);
    await this.#requireReadable(store, refs);
    return this.#deps.entries.newest(store, refs);
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
    const store = await this.#deps.stores.get(id);
    await this.#requireReadable(store, refs);
    return this.#deps.entries.all(store, refs);
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
    const afterKeyId =
      input.startAfterKeyId.length === 0
        ? undefined
        : assertBytes(
            input.startAfterKeyId,
            limits.keyIdBytes,
            "start_after_key_id",
            "INVALID_KEY_ID",
          );
    const limit =
      input.pageSize === 0n
        ? limits.defaultPageSize
        : assertUint64InRange(input.pageSize, "page_size", { min: 1, max: limits.maxPageSize });
    const store = await this.#deps.stores.get(id);
    if (fingerprints.length > 0) {
      await this.#requireReadable(
        store,
        fingerprints.map((fingerprint) => ({ keyId: Buffer.alloc(0), fingerprint })),
      );
    }
    yield* this.#deps.entries.pages(store, { fingerprints, afterKeyId, limit, now: 0 }, signal);
  }

  /**
   * Writes one entry under `key`, removing it under `previousKeys` in the same
   * transaction; returns the new version once durable.
   *
   * @throws VaultError VERSION_CONFLICT, VALUE_TOO_LARGE, UNKNOWN_SECRET, and as getValue.
   */
  async setValue(
    caller: Caller,
    input: SetValueInput,
    audited: Audited = {},
  ): Promise<{ version: number }> {
    const id = assertStoreId(input.storeId);
    requireAccess(caller, id, "write");
    const [key, ...previous] = keyAndPrevious(input) as [ValidKeyRef, ...ValidKeyRef[]];
    const expected = expectedVersion(input.expectedVersion);
    const expiresAt = expiryOf(input, Date.now(), ENTRY_EXPIRY);
    const store = await this.#deps.stores.get(id);
    const sealed = assertSealedValue(input.sealedValue, store.row.maxValueBytes);
    const uid = store.row.uid;
    const result = await this.#deps.storage.write({
      kind: "setValue",
      storeId: id,
      storeUid: uid,
      key,
      previous,
      sealed,
      expected,
      expiresAt,
      audit: audited.audit,
    });
    // Views into the request; the cache copies what it keeps.
    const entry: EntryView = {
      keyId: key.keyId,
      fingerprint: key.fingerprint,
      sealedValue: sealed,
      version: result.version,
      updatedAt: result.updatedAt,
      expiresAt,
    };
    this.#deps.cache.written(uid, entry, result.removedKeyIds);
    this.#secretsChanged(uid, result.secrets);
    return { version: result.version };
  }

  /**
   * Deletes one entry under `key` and `previousKeys`; true if one existed.
   *
   * @throws VaultError VERSION_CONFLICT, UNKNOWN_SECRET, and as getValue.
   */
  async deleteValue(
    caller: Caller,
    input: DeleteValueInput,
    audited: Audited = {},
  ): Promise<{ deleted: boolean }> {
    const id = assertStoreId(input.storeId);
    requireAccess(caller, id, "write");
    const refs = keyAndPrevious(input);
    const expected = expectedVersion(input.expectedVersion);
    const store = await this.#deps.stores.get(id);
    const result = await this.#deps.storage.write({
      kind: "deleteValue",
      storeId: id,
      storeUid: store.row.uid,
      refs,
      expected,
      audit: audited.audit,
    });
    this.#deps.cache.written(store.row.uid, undefined, result.removedKeyIds);
    return { deleted: result.deleted };
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
    audited: Audited = {},
  ): Promise<StoreView> {
    const id = assertStoreId(input.storeId);
    requireAccess(caller, id, "write");
    const fingerprint = assertFingerprint(input.secretFingerprint, "secret_fingerprint");
    const known =
      input.knownSecretFingerprint.length === 0
        ? undefined
        : assertFingerprint(input.knownSecretFingerprint, "known_secret_fingerprint");
    const store = await this.#deps.stores.get(id);
    const result = await this.#deps.storage.write({
      kind: "registerSecret",
      storeId: id,
      storeUid: store.row.uid,
      fingerprint,
      known,
      audit: audited.audit,
    });
    this.#secretsChanged(store.row.uid, result.secrets);
    return describe(this.#deps.reads, id);
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
    audited: Audited = {},
  ): Promise<StoreView> {
    const id = assertStoreId(input.storeId);
    requireAccess(caller, id, "write");
    const fingerprint = assertFingerprint(input.secretFingerprint, "secret_fingerprint");
    const store = await this.#deps.stores.get(id);
    const result = await this.#deps.storage.write({
      kind: "retireSecret",
      storeId: id,
      storeUid: store.row.uid,
      fingerprint,
      audit: audited.audit,
    });
    this.#secretsChanged(store.row.uid, result.secrets);
    return describe(this.#deps.reads, id);
  }

  #secretsChanged(storeUid: Buffer, secrets: readonly SecretRow[] | undefined): void {
    if (secrets !== undefined) this.#deps.stores.setSecrets(storeUid, bySecretHex(secrets));
  }

  async #requireReadable(store: LoadedStore, refs: readonly ValidKeyRef[]): Promise<void> {
    if (readAllowed(store.secrets, refs)) return;
    // Another replica may have registered the secret since the store was cached.
    await this.#deps.stores.refreshSecrets(store);
    if (!readAllowed(store.secrets, refs)) throw unknownSecret(store.row.id, refs, store.secrets);
  }
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

function assertFingerprint(value: Uint8Array, field: string): Buffer {
  return assertBytes(value, limits.fingerprintBytes, field, "INVALID_FINGERPRINT");
}

function expectedVersion(value: bigint | undefined): number | undefined {
  if (value === undefined) return undefined;
  // Versions count the writes to a store: none has ever passed 2^53 − 1.
  return assertUint64InRange(value, "expected_version", { min: 0, max: Number.MAX_SAFE_INTEGER });
}
