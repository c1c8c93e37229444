import { sealedLength } from "../crypto/frame.js";
import { seal } from "../crypto/seal.js";
import {
  assertAs,
  assertKeyName,
  assertOptions,
  assertPositiveInt,
  assertSecretType,
  assertValue,
  assertVersion,
  lifetimeOf,
  writtenAtOf,
} from "./client-assertions.js";
import type {
  BytesReadOptions,
  EntriesOptions,
  ListedEntry,
  ReadOptions,
  RegisterSecretOptions,
  RotateSecretOptions,
  RotationResult,
  SetOptions,
  SetValueResult,
  StoredEntry,
  TextReadOptions,
  WriteOptions,
} from "./client-options.js";
import { getValues } from "./get-values.js";
import { HexclaveError, ValueTooLargeError } from "./hexclave-error.js";
import { listEntries } from "./list-entries.js";
import { rotateSecret } from "./rotate-secret.js";
import { type Candidate, candidatesFor, decodeValue, openEntry } from "./sealed-values.js";
import type { StoreContext } from "./store-context.js";

/**
 * One store, as a map from key names to values that are sealed in this
 * process: the server sees only keyed hashes of the names and opaque blobs.
 * Get one from {@link HexclaveClient.getDataVaultStore}.
 *
 * Every method rejects only with {@link HexclaveError}s; branch on `err.code`.
 *
 * @example
 * const store = await hexclave.getDataVaultStore("oauth-tokens");
 * await store.setValue(`gh:${user.id}`, refreshToken, { secret });
 * const token = await store.getValue(`gh:${user.id}`, { secret }); // string | null
 */
export class DataVaultStore {
  readonly #ctx: StoreContext;

  /** @internal Use `HexclaveClient.getDataVaultStore(id)`. */
  constructor(context: StoreContext) {
    this.#ctx = context;
  }

  /**
   * The store id.
   *
   * @example
   * console.log(store.id); // "oauth-tokens"
   */
  get id(): string {
    return this.#ctx.storeId;
  }

  /**
   * The store's salt, in base64: public, and what `storeSalts` pins. Record it
   * while you trust the server, to refuse a server that later hands out another.
   *
   * @example
   * console.log(JSON.stringify({ [store.id]: store.salt })); // for HexclaveClient's storeSalts
   */
  get salt(): string {
    return this.#ctx.salt.toString("base64");
  }

  /**
   * The largest sealed value the store accepts, in bytes. An envelope is 89
   * bytes plus the key name, the value and 15 bytes of framing, padded to a size
   * bucket (256 bytes at least; docs/client.md).
   *
   * @example
   * console.log(`values up to about ${store.maxValueBytes - 200} bytes fit`);
   */
  get maxValueBytes(): number {
    return this.#ctx.maxValueBytes;
  }

  /**
   * Reads a value: the string stored under `key`, or null if there is none.
   * With `previousSecrets`, falls back to the entry under older secrets in the
   * same round trip.
   *
   * @throws UnknownSecretError if the store has never seen any of the secrets.
   * @throws DecryptionError if the value does not open (altered, or moved from another key or store).
   * @throws WeakSecretError, PermissionDeniedError, UnauthenticatedError, UnavailableError, HexclaveError.
   * @example
   * const token = await store.getValue(`gh:${user.id}`, { secret }); // string | null
   * const raw = await store.getValue("signing-key", { secret, as: "bytes" }); // Uint8Array | null
   */
  getValue(key: string, options: TextReadOptions): Promise<string | null>;
  getValue(key: string, options: BytesReadOptions): Promise<Uint8Array | null>;
  getValue(key: string, options: ReadOptions): Promise<string | Uint8Array | null>;
  async getValue(key: string, options: ReadOptions): Promise<string | Uint8Array | null> {
    const entry = await this.getEntry(key, options);
    return entry === null ? null : entry.value;
  }

  /**
   * Reads a value with its version, for a later check-and-set (`ifVersion`), and the time it
   * was written (sealed with it, by the writer's clock), to see how old it is.
   *
   * @throws as {@link DataVaultStore.getValue}.
   * @example
   * const entry = await store.getEntry("gh:42", { secret });
   * if (entry) await store.setValue("gh:42", refreshed, { secret, ifVersion: entry.version });
   * console.log(entry?.writtenAt.toISOString());
   */
  getEntry(key: string, options: TextReadOptions): Promise<StoredEntry<string> | null>;
  getEntry(key: string, options: BytesReadOptions): Promise<StoredEntry<Uint8Array> | null>;
  getEntry(key: string, options: ReadOptions): Promise<StoredEntry<string | Uint8Array> | null>;
  getEntry(key: string, options: ReadOptions): Promise<StoredEntry<string | Uint8Array> | null> {
    return this.#ctx.guard(async () => {
      assertKeyName("key", key);
      assertOptions(options);
      assertAs(options.as);
      const [own, ...older] = candidatesFor(await this.#ctx.callKeys(options), key) as [
        Candidate,
        ...Candidate[],
      ];
      const entry = await this.#ctx.rpc.getValue({
        storeId: this.#ctx.storeId,
        key: own.ref,
        previousKeys: older.map((c) => c.ref),
      });
      if (entry === undefined) return null;
      const opened = openEntry([own, ...older], entry);
      const { writtenAt, kind } = opened;
      return {
        value: decodeValue(opened, options.as ?? "text"),
        version: entry.version,
        writtenAt: new Date(writtenAt),
        expiresAt: entry.expireTime ?? null,
        storedAs: kind,
      };
    });
  }

  /**
   * Seals `value` under `key` and stores it. With `previousSecrets`, the
   * entry under older secrets is removed in the same server transaction; with
   * `ifVersion`, it is a check-and-set.
   *
   * @throws VersionConflictError if `ifVersion` is not the entry's version.
   * @throws ValueTooLargeError if the sealed value exceeds the store's limit.
   * @throws UnknownSecretError if the store has data under other secrets only
   *   (pass the current one in `previousSecrets`, or rotate).
   * @throws WeakSecretError, PermissionDeniedError, UnauthenticatedError, UnavailableError, HexclaveError.
   * @example
   * const { version } = await store.setValue(`gh:${user.id}`, refreshToken, { secret });
   * await store.setValue("signing-key", new Uint8Array(32), { secret, ifVersion: 0 }); // only if absent
   * await store.setValue(`gh-access:${user.id}`, accessToken, { secret, expiresIn: 3_600_000 }); // an hour
   */
  setValue(key: string, value: string | Uint8Array, options: SetOptions): Promise<SetValueResult> {
    return this.#ctx.guard(async () => {
      assertKeyName("key", key);
      assertValue(value);
      assertOptions(options);
      assertVersion("ifVersion", options.ifVersion);
      const lifetime = lifetimeOf(options);
      const writtenAt = writtenAtOf(options.writtenAt);
      this.#assertFits(key, value);
      const keys = await this.#ctx.callKeys(options);
      const [own, ...older] = candidatesFor(keys, key) as [Candidate, ...Candidate[]];
      const version = await this.#ctx.rpc.setValue({
        storeId: this.#ctx.storeId,
        key: own.ref,
        sealedValue: seal(keys.current, key, value, writtenAt),
        expectedVersion: options.ifVersion,
        previousKeys: older.map((c) => c.ref),
        ...lifetime,
      });
      return { version };
    });
  }

  /**
   * Deletes the entry under `key` (under every given secret).
   *
   * @returns true if an entry existed.
   * @throws VersionConflictError if `ifVersion` is not the entry's version.
   * @throws UnknownSecretError, WeakSecretError, PermissionDeniedError, UnauthenticatedError, HexclaveError.
   * @example
   * const existed = await store.deleteValue(`gh:${user.id}`, { secret });
   */
  deleteValue(key: string, options: WriteOptions): Promise<boolean> {
    return this.#ctx.guard(async () => {
      assertKeyName("key", key);
      assertOptions(options);
      assertVersion("ifVersion", options.ifVersion);
      const [own, ...older] = candidatesFor(await this.#ctx.callKeys(options), key) as [
        Candidate,
        ...Candidate[],
      ];
      return this.#ctx.rpc.deleteValue({
        storeId: this.#ctx.storeId,
        key: own.ref,
        previousKeys: older.map((c) => c.ref),
        expectedVersion: options.ifVersion,
      });
    });
  }

  /**
   * Reads many values in one round trip (split into several only past the
   * server's 1,000 key refs per call, counting one ref per key and secret).
   *
   * @returns a Map from each key that has a value to that value, in the order asked; missing keys are absent.
   * @throws as {@link DataVaultStore.getValue}; one value that does not open fails the call.
   * @example
   * const tokens = await store.getValues(users.map((u) => `gh:${u.id}`), { secret });
   * const token = tokens.get("gh:42"); // string | undefined
   */
  getValues(keys: readonly string[], options: TextReadOptions): Promise<Map<string, string>>;
  getValues(keys: readonly string[], options: BytesReadOptions): Promise<Map<string, Uint8Array>>;
  getValues(
    keys: readonly string[],
    options: ReadOptions,
  ): Promise<Map<string, string | Uint8Array>>;
  getValues(
    keys: readonly string[],
    options: ReadOptions,
  ): Promise<Map<string, string | Uint8Array>> {
    return this.#ctx.guard(() => getValues(this.#ctx, keys, options));
  }

  /**
   * Lists the store's entries sealed under your secret(s), opening each one
   * locally: the way to export or audit your own data, since only you can
   * read the key names. With `previousSecrets`, entries not yet re-sealed are
   * included once, the current secret's copy winning.
   *
   * @throws as {@link DataVaultStore.getValue}, from the iteration.
   * @example
   * for await (const { key, value, version, writtenAt } of store.entries({ secret })) {
   *   console.log(key, version, writtenAt.toISOString(), value.length);
   * }
   */
  entries(options: TextReadOptions & EntriesOptions): AsyncGenerator<ListedEntry<string>>;
  entries(options: BytesReadOptions & EntriesOptions): AsyncGenerator<ListedEntry<Uint8Array>>;
  entries(options: EntriesOptions): AsyncGenerator<ListedEntry<string | Uint8Array>>;
  entries(options: EntriesOptions): AsyncGenerator<ListedEntry<string | Uint8Array>> {
    return listEntries(this.#ctx, options);
  }

  /**
   * Registers another secret with the store, vouched for by one it already
   * knows: the explicit first step of a rotation (`rotateSecret` does it for
   * you). Registering a known secret again changes nothing.
   *
   * @throws UnknownSecretError if `knownSecret` is not registered (or missing while the store knows one).
   * @throws WeakSecretError, PermissionDeniedError, UnauthenticatedError, HexclaveError.
   * @example
   * await store.registerSecret({ secret: newSecret, knownSecret: oldSecret });
   */
  registerSecret(options: RegisterSecretOptions): Promise<void> {
    return this.#ctx.guard(async () => {
      assertOptions(options);
      assertSecretType("secret", options.secret);
      if (options.knownSecret !== undefined) assertSecretType("knownSecret", options.knownSecret);
      const keys = await this.#ctx.keysFor(options.secret);
      const known =
        options.knownSecret === undefined
          ? undefined
          : await this.#ctx.keysFor(options.knownSecret);
      await this.#ctx.rpc.registerSecret(
        this.#ctx.storeId,
        keys.fingerprint,
        known?.fingerprint ?? Buffer.alloc(0),
      );
    });
  }

  /**
   * Re-seals every entry from one secret to another, then retires the old one.
   * Resumable: each entry moves in one server transaction, so a run that
   * crashes halfway leaves every entry readable (with `{ secret: to,
   * previousSecrets: [from] }`), and running it again finishes the job.
   *
   * @throws UnknownSecretError if the store knows neither `from` nor `to`.
   * @throws DecryptionError if an entry under `from` does not open (the rotation stops; nothing is lost).
   * @throws WeakSecretError, PermissionDeniedError, UnauthenticatedError, UnavailableError, HexclaveError.
   * @example
   * const result = await store.rotateSecret({
   *   from: oldSecret,
   *   to: newSecret,
   *   onProgress: ({ done, total }) => console.log(`${done}/${total}`),
   * });
   */
  rotateSecret(options: RotateSecretOptions): Promise<RotationResult> {
    return this.#ctx.guard(async () => {
      assertOptions(options);
      assertSecretType("from", options.from);
      assertSecretType("to", options.to);
      if (options.concurrency !== undefined) {
        assertPositiveInt("concurrency", options.concurrency, 64);
      }
      if (options.onProgress !== undefined && typeof options.onProgress !== "function") {
        throw new HexclaveError("INVALID_ARGUMENT", `"onProgress" must be a function`);
      }
      return rotateSecret(this.#ctx, options);
    });
  }

  /**
   * The public fingerprint (16 hex digits) a secret has in this store, as
   * UnknownSecretError messages and `hexclave stores get` show them.
   *
   * @throws WeakSecretError for a weak secret (docs/sealing.md §3.1).
   * @example
   * console.log(await store.secretFingerprint(secret)); // "3f9c0a…"
   */
  secretFingerprint(secret: string): Promise<string> {
    return this.#ctx.guard(async () => {
      assertSecretType("secret", secret);
      return (await this.#ctx.keysFor(secret)).fingerprint.toString("hex");
    });
  }

  #assertFits(key: string, value: string | Uint8Array): void {
    const valueBytes = typeof value === "string" ? Buffer.byteLength(value, "utf8") : value.length;
    const sealed = sealedLength(Buffer.byteLength(key, "utf8"), valueBytes);
    if (sealed > this.#ctx.maxValueBytes) {
      throw new ValueTooLargeError(
        `the sealed value would be ${sealed} bytes and store "${this.#ctx.storeId}" accepts at most ${this.#ctx.maxValueBytes} ` +
          "(sealing frames the key name with the value and pads to a size bucket): store less, " +
          "or have an admin create a store with a larger max_value_bytes",
        { metadata: { limit: String(this.#ctx.maxValueBytes), actual: String(sealed) } },
      );
    }
  }
}
