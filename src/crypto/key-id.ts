import { encodeKeyName } from "./key-name.js";
import { hmacSha256 } from "./primitives.js";
import { type StoreKeys, storeKeyMaterial } from "./store-keys.js";

/**
 * The 32-byte id the server stores a value under instead of its key name.
 *
 * HMAC-SHA256(k_id, UTF-8(key name)): deterministic, so the same name finds the same entry,
 * and keyed per (secret, store), so the server cannot test guesses of names nor link one
 * name across stores.
 *
 * @throws {CryptoError} INVALID_INPUT for an empty, over-long (> 1,024 UTF-8 bytes) or
 *   ill-formed key name, or keys that were destroyed.
 * @example
 * ```ts
 * const keyId = computeKeyId(keys, `gh:${user.id}`);
 * ```
 */
export function computeKeyId(keys: StoreKeys, keyName: string): Buffer {
  const { kId } = storeKeyMaterial(keys);
  return hmacSha256(kId, encodeKeyName(keyName));
}
