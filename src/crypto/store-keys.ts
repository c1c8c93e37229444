import { inspect } from "node:util";
import { CryptoError } from "./crypto-error.js";
import { FINGERPRINT_LENGTH, LABEL } from "./format-v1.js";
import { ascii, hkdf } from "./primitives.js";
import { deriveRootKey, deriveRootKeySync } from "./root-key.js";

/**
 * The keys one secret gives for one store. Derive once per (secret, store) per process and
 * reuse: derivation is the slow part, every seal and open after it is microseconds.
 *
 * Only public values are properties. The key bytes live in a module-private WeakMap, so
 * `JSON.stringify`, `util.inspect`, loggers and `Object.keys` cannot reach them.
 */
export interface StoreKeys {
  /** The store these keys belong to; sealing binds every envelope to it. */
  readonly storeId: string;
  /** Public 8-byte fingerprint of the secret for this store (a copy; changing it changes nothing). */
  readonly fingerprint: Buffer;
  /** Whether {@link StoreKeys.destroy} has run; destroyed keys refuse to seal or open. */
  readonly destroyed: boolean;
  /** Zero-fills the key bytes. Idempotent. */
  destroy(): void;
}

/** The secret halves of a {@link StoreKeys}. Internal to src/crypto. */
export interface StoreKeyMaterial {
  readonly kId: Buffer;
  readonly kSeal: Buffer;
  readonly fingerprint: Buffer;
}

const material = new WeakMap<StoreKeys, StoreKeyMaterial>();

class DerivedStoreKeys implements StoreKeys {
  readonly storeId: string;
  readonly fingerprint: Buffer;

  constructor(storeId: string, fingerprint: Buffer) {
    this.storeId = storeId;
    this.fingerprint = Buffer.from(fingerprint);
    Object.freeze(this);
  }

  get destroyed(): boolean {
    return !material.has(this);
  }

  destroy(): void {
    const held = material.get(this);
    if (held === undefined) return;
    held.kId.fill(0);
    held.kSeal.fill(0);
    material.delete(this);
  }

  // Belt and braces: show only what is public even if someone adds a field later.
  [inspect.custom](): string {
    return `StoreKeys { storeId: ${JSON.stringify(this.storeId)}, fingerprint: ${this.fingerprint.toString("hex")}${this.destroyed ? ", destroyed" : ""} }`;
  }
}

/**
 * Expands a root key into k_id, k_seal and the fingerprint, and zero-fills `root`.
 * Internal: the derive functions use it, and test vectors use it to avoid a second scrypt.
 *
 * @throws never for a root from deriveRootKey.
 * @example
 * ```ts
 * const keys = storeKeysFromRoot("oauth-tokens", Buffer.from(root)); // the copy gets zeroed
 * ```
 */
export function storeKeysFromRoot(storeId: string, root: Buffer): StoreKeys {
  const none = Buffer.alloc(0);
  const held: StoreKeyMaterial = {
    kId: hkdf(root, none, ascii(LABEL.keyId), 32),
    kSeal: hkdf(root, none, ascii(LABEL.seal), 32),
    fingerprint: hkdf(root, none, ascii(LABEL.fingerprint), FINGERPRINT_LENGTH),
  };
  root.fill(0);
  const keys = new DerivedStoreKeys(storeId, held.fingerprint);
  material.set(keys, held);
  return keys;
}

/**
 * Derives a store's keys from a secret, off the event loop.
 *
 * A hand-made secret costs one scrypt (N=2^17, r=8, p=1; 128 MiB and ≈0.5-1 s on the
 * threadpool); a generated `hxs_` secret costs one HKDF (microseconds).
 *
 * @throws {CryptoError} (rejects) WEAK_SECRET for a short or non-string secret; INVALID_INPUT
 *   for a bad store id (docs/sealing.md §2) or a store salt that is not 32 bytes.
 * @example
 * ```ts
 * const keys = await deriveStoreKeys(secret, "oauth-tokens", store.salt);
 * const envelope = seal(keys, "gh:42", refreshToken);
 * ```
 */
export async function deriveStoreKeys(
  secret: string,
  storeId: string,
  storeSalt: Uint8Array,
): Promise<StoreKeys> {
  return storeKeysFromRoot(storeId, await deriveRootKey(secret, storeId, storeSalt));
}

/**
 * Same as {@link deriveStoreKeys}, blocking: for the CLI, tests and test vectors.
 *
 * @throws {CryptoError} WEAK_SECRET or INVALID_INPUT, as {@link deriveStoreKeys}.
 * @example
 * ```ts
 * const keys = deriveStoreKeysSync(generateSecret(), "oauth-tokens", randomBytes(32));
 * ```
 */
export function deriveStoreKeysSync(
  secret: string,
  storeId: string,
  storeSalt: Uint8Array,
): StoreKeys {
  return storeKeysFromRoot(storeId, deriveRootKeySync(secret, storeId, storeSalt));
}

/**
 * The key bytes behind a {@link StoreKeys}. Internal to src/crypto: never re-export it.
 *
 * @throws {CryptoError} INVALID_INPUT if `keys` did not come from deriveStoreKeys or was destroyed.
 * @example
 * ```ts
 * const { kId } = storeKeyMaterial(keys);
 * ```
 */
export function storeKeyMaterial(keys: StoreKeys): StoreKeyMaterial {
  const held = typeof keys === "object" && keys !== null ? material.get(keys) : undefined;
  if (held === undefined) {
    throw new CryptoError(
      "INVALID_INPUT",
      `"keys" expected StoreKeys from deriveStoreKeys() that have not been destroyed`,
    );
  }
  return held;
}
