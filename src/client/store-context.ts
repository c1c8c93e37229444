import type { StoreKeys } from "../crypto/store-keys.js";
import { assertOptions, assertPreviousSecrets, assertSecretType } from "./client-assertions.js";
import type { SecretOptions } from "./client-options.js";
import type { KeyCache } from "./key-cache.js";
import type { CallKeys } from "./sealed-values.js";
import { toHexclaveError } from "./to-hexclave-error.js";
import type { VaultRpc } from "./vault-rpc.js";

/**
 * What a DataVaultStore and its rotation share: the store's public
 * parameters (fetched once by DescribeStore), the RPCs and the client's key cache.
 *
 * @example
 * const ctx = new StoreContext({ storeId: "oauth-tokens", salt, maxValueBytes: 65536 }, rpc, keyCache);
 * const keys = await ctx.callKeys({ secret, previousSecrets });
 */
export class StoreContext {
  readonly storeId: string;
  readonly salt: Buffer;
  readonly maxValueBytes: number;
  readonly rpc: VaultRpc;
  readonly #keyCache: KeyCache;

  constructor(
    init: { storeId: string; salt: Buffer; maxValueBytes: number },
    rpc: VaultRpc,
    keyCache: KeyCache,
  ) {
    this.storeId = init.storeId;
    this.salt = Buffer.from(init.salt);
    this.maxValueBytes = init.maxValueBytes;
    this.rpc = rpc;
    this.#keyCache = keyCache;
  }

  /**
   * Runs a public method's body: anything it throws becomes a HexclaveError,
   * and anything that fails because the client was closed meanwhile (keys are
   * zeroed on close) says so.
   */
  async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (this.rpc.closed) this.rpc.assertOpen();
      throw toHexclaveError(error);
    }
  }

  /**
   * The keys a secret gives for this store (derived once per client).
   *
   * @throws CryptoError WEAK_SECRET for a weak secret; INVALID_INPUT for whitespace at its ends.
   */
  keysFor(secret: string): Promise<StoreKeys> {
    this.rpc.assertOpen();
    return this.#keyCache.get(secret, this.storeId, this.salt);
  }

  /**
   * The keys for a call's `secret` and `previousSecrets`, each secret once.
   *
   * @throws HexclaveError INVALID_ARGUMENT for malformed options; CryptoError WEAK_SECRET.
   */
  async callKeys(options: SecretOptions): Promise<CallKeys> {
    assertOptions(options);
    assertSecretType("secret", options.secret);
    const previousSecrets = assertPreviousSecrets(options.previousSecrets);
    const [current, ...older] = await Promise.all(
      [options.secret, ...previousSecrets].map((s) => this.keysFor(s)),
    );
    const seen = new Set([(current as StoreKeys).fingerprint.toString("hex")]);
    const previous = older.filter((k) => {
      const hex = k.fingerprint.toString("hex");
      if (seen.has(hex)) return false;
      seen.add(hex);
      return true;
    });
    return { current: current as StoreKeys, previous };
  }
}
