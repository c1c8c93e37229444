import { randomBytes } from "node:crypto";
import { assertBytes, assertStoreId, assertUint8Array } from "./assertions.js";
import { decryptionFailed } from "./crypto-error.js";
import { TAG_LENGTH, ZERO_NONCE } from "./format-v1.js";
import { hkdfExpand } from "./hkdf-expand.js";
import { ascii, gcmDecrypt, gcmEncryptInto, hmacSha256 } from "./primitives.js";

/**
 * Server-side encryption at rest (docs/sealing.md §10). The server never
 * sees plaintext: these layers protect the client's envelopes and ids on disk and in backups,
 * and make deleting a store's data key crypto-shred it.
 */

/** First byte of a wrapped data key and of a sealed-at-rest blob. */
export const AT_REST_VERSION = 0x01;
/** Master key length (HEXCLAVE_MASTER_KEY decodes to this). */
export const MASTER_KEY_LENGTH = 32;
/** Per-store data key length. */
export const DATA_KEY_LENGTH = 32;
/** Public master key id length: enough to tell the keys of a rotation apart. */
export const MASTER_KEY_ID_LENGTH = 8;
const IV_LENGTH = 12;
const AT_REST_SALT_LENGTH = 32;
const AT_REST_KEY_ID_LENGTH = 32;
/** A blob's one-time AES-256 key: one SHA-256 block, so one HMAC. */
const BLOB_KEY_LENGTH = 32;
/** version ‖ iv ‖ 32-byte ciphertext ‖ tag. */
export const WRAPPED_DATA_KEY_LENGTH = 1 + IV_LENGTH + DATA_KEY_LENGTH + TAG_LENGTH;
/** Bytes sealAtRest adds to a blob: version ‖ salt ‖ … ‖ tag. */
export const AT_REST_OVERHEAD = 1 + AT_REST_SALT_LENGTH + TAG_LENGTH;

const LABEL_MASTER_KEY_ID = ascii("hexclave/v1/master-key-id");
const LABEL_WRAP_KEY = ascii("hexclave/v1/wrap-key");
const LABEL_WRAP_AAD = ascii("hexclave/v1/wrap-data-key");
const LABEL_AT_REST = ascii("hexclave/v1/at-rest");

/**
 * Writes u8 len(store id) ‖ store id at `offset` and returns the offset after it. Store ids
 * are ASCII (assertStoreId ran first), so the string's length is its byte length.
 */
function writeStoreId(out: Buffer, offset: number, storeId: string): number {
  out[offset] = storeId.length;
  return offset + 1 + out.write(storeId, offset + 1, "ascii");
}

/** masterKeyId without the assertion, for callers that already checked the key. */
function idOfMasterKey(masterKey: Uint8Array): Buffer {
  return hmacSha256(masterKey, LABEL_MASTER_KEY_ID).subarray(0, MASTER_KEY_ID_LENGTH);
}

/**
 * The 8-byte public id of a master key: which key wrapped a data key, without revealing it.
 *
 * @throws {CryptoError} INVALID_INPUT unless `masterKey` is 32 bytes.
 * @example
 * ```ts
 * const id = masterKeyId(masterKey).toString("hex"); // stored next to each wrapped data key
 * ```
 */
export function masterKeyId(masterKey: Uint8Array): Buffer {
  assertBytes("masterKey", masterKey, MASTER_KEY_LENGTH);
  return idOfMasterKey(masterKey);
}

/**
 * Makes a new store data key (32 random bytes).
 *
 * @throws never.
 * @example
 * ```ts
 * const dataKey = generateDataKey();
 * ```
 */
export function generateDataKey(): Buffer {
  return randomBytes(DATA_KEY_LENGTH);
}

/** AAD of a wrapped data key: label ‖ version ‖ u8 len(store id) ‖ store id ‖ master key id. */
function wrapAad(masterKey: Uint8Array, storeId: string): Buffer {
  const aad = Buffer.allocUnsafe(LABEL_WRAP_AAD.length + 2 + storeId.length + MASTER_KEY_ID_LENGTH);
  LABEL_WRAP_AAD.copy(aad, 0);
  aad[LABEL_WRAP_AAD.length] = AT_REST_VERSION;
  const end = writeStoreId(aad, LABEL_WRAP_AAD.length + 1, storeId);
  idOfMasterKey(masterKey).copy(aad, end);
  return aad;
}

/** The master key only ever keys HMAC; the AES key is derived, so no key serves two algorithms. */
function wrapKey(masterKey: Uint8Array): Buffer {
  return hmacSha256(masterKey, LABEL_WRAP_KEY);
}

/**
 * Encrypts a store's data key under the master key, bound to the store id and master key id.
 *
 * A random 96-bit IV is safe here: one wrap per store creation or master-key rotation stays
 * far below GCM's 2^32 random-nonce bound.
 *
 * @throws {CryptoError} INVALID_INPUT for a master key or data key that is not 32 bytes, or a
 *   bad store id.
 * @example
 * ```ts
 * const wrapped = wrapDataKey(masterKey, "oauth-tokens", generateDataKey()); // 61 bytes
 * ```
 */
export function wrapDataKey(masterKey: Uint8Array, storeId: string, dataKey: Uint8Array): Buffer {
  return wrapDataKeyWithIv(masterKey, storeId, dataKey, randomBytes(IV_LENGTH));
}

/**
 * {@link wrapDataKey} with a caller-chosen IV. For test vectors only: never reuse an IV.
 *
 * @throws {CryptoError} INVALID_INPUT as {@link wrapDataKey}, or an IV that is not 12 bytes.
 * @example
 * ```ts
 * wrapDataKeyWithIv(masterKey, "oauth-tokens", dataKey, Buffer.alloc(12, 1)); // vectors only
 * ```
 */
export function wrapDataKeyWithIv(
  masterKey: Uint8Array,
  storeId: string,
  dataKey: Uint8Array,
  iv: Uint8Array,
): Buffer {
  assertBytes("masterKey", masterKey, MASTER_KEY_LENGTH);
  assertStoreId(storeId);
  assertBytes("dataKey", dataKey, DATA_KEY_LENGTH);
  assertBytes("iv", iv, IV_LENGTH);
  const key = wrapKey(masterKey);
  try {
    const wrapped = Buffer.allocUnsafe(WRAPPED_DATA_KEY_LENGTH);
    wrapped[0] = AT_REST_VERSION;
    wrapped.set(iv, 1);
    gcmEncryptInto(key, iv, wrapAad(masterKey, storeId), dataKey, wrapped, 1 + IV_LENGTH);
    return wrapped;
  } finally {
    key.fill(0);
  }
}

/**
 * Decrypts a data key wrapped by {@link wrapDataKey} for this store under this master key.
 *
 * @throws {CryptoError} DECRYPTION_FAILED if it was wrapped for another store or master key,
 *   or altered; INVALID_INPUT for a master key that is not 32 bytes or a bad store id.
 * @example
 * ```ts
 * const dataKey = unwrapDataKey(masterKey, "oauth-tokens", row.wrappedDataKey);
 * ```
 */
export function unwrapDataKey(masterKey: Uint8Array, storeId: string, wrapped: Uint8Array): Buffer {
  assertBytes("masterKey", masterKey, MASTER_KEY_LENGTH);
  assertStoreId(storeId);
  assertUint8Array("wrapped", wrapped);
  if (wrapped.length !== WRAPPED_DATA_KEY_LENGTH || wrapped[0] !== AT_REST_VERSION) {
    throw decryptionFailed();
  }
  const key = wrapKey(masterKey);
  try {
    const iv = wrapped.subarray(1, 1 + IV_LENGTH);
    const dataKey = gcmDecrypt(
      key,
      iv,
      wrapAad(masterKey, storeId),
      wrapped.subarray(1 + IV_LENGTH),
    );
    if (dataKey === undefined) throw decryptionFailed();
    return dataKey;
  } finally {
    key.fill(0);
  }
}

/** AAD of a blob at rest: version ‖ u8 len(store id) ‖ store id ‖ key id. */
function blobAad(storeId: string, keyId: Uint8Array): Buffer {
  const aad = Buffer.allocUnsafe(2 + storeId.length + AT_REST_KEY_ID_LENGTH);
  aad[0] = AT_REST_VERSION;
  aad.set(keyId, writeStoreId(aad, 1, storeId));
  return aad;
}

/**
 * One blob's one-time AES key: HKDF-Expand-SHA256(data key, "hexclave/v1/at-rest" ‖ salt, 32),
 * which is one HMAC-SHA256. Expand alone suffices: the data key is 32 random bytes already.
 */
function blobKey(dataKey: Uint8Array, salt: Uint8Array): Buffer {
  const info = Buffer.allocUnsafe(LABEL_AT_REST.length + AT_REST_SALT_LENGTH);
  LABEL_AT_REST.copy(info, 0);
  info.set(salt, LABEL_AT_REST.length);
  return hkdfExpand("sha256", dataKey, info, BLOB_KEY_LENGTH);
}

function assertBlobInputs(dataKey: unknown, storeId: unknown, keyId: unknown): void {
  assertBytes("dataKey", dataKey, DATA_KEY_LENGTH);
  assertStoreId(storeId);
  assertBytes("keyId", keyId, AT_REST_KEY_ID_LENGTH);
}

/**
 * Seals a stored blob under its store's data key, bound to the store id and key id.
 *
 * One data key may seal billions of blobs over a store's life, past the 2^32 bound for random
 * 96-bit GCM nonces under one key. So each blob gets its own key from a random 32-byte salt
 * (one HMAC + one GCM: cheap enough for the hot path); no GCM key is ever used twice, which
 * is also why the nonce can be 12 zero bytes.
 *
 * @throws {CryptoError} INVALID_INPUT for a data key or key id that is not 32 bytes, a bad
 *   store id, or a blob that is not a Uint8Array.
 * @example
 * ```ts
 * const stored = sealAtRest(dataKey, "oauth-tokens", keyId, request.sealedValue);
 * ```
 */
export function sealAtRest(
  dataKey: Uint8Array,
  storeId: string,
  keyId: Uint8Array,
  blob: Uint8Array,
): Buffer {
  return sealAtRestWithSalt(dataKey, storeId, keyId, blob, randomBytes(AT_REST_SALT_LENGTH));
}

/**
 * {@link sealAtRest} with a caller-chosen salt. For test vectors only: never reuse a salt.
 *
 * @throws {CryptoError} INVALID_INPUT as {@link sealAtRest}, or a salt that is not 32 bytes.
 * @example
 * ```ts
 * sealAtRestWithSalt(dataKey, "oauth-tokens", keyId, blob, Buffer.alloc(32, 2)); // vectors only
 * ```
 */
export function sealAtRestWithSalt(
  dataKey: Uint8Array,
  storeId: string,
  keyId: Uint8Array,
  blob: Uint8Array,
  salt: Uint8Array,
): Buffer {
  assertBlobInputs(dataKey, storeId, keyId);
  assertUint8Array("blob", blob);
  assertBytes("salt", salt, AT_REST_SALT_LENGTH);
  const key = blobKey(dataKey, salt);
  try {
    const stored = Buffer.allocUnsafe(AT_REST_OVERHEAD + blob.length);
    stored[0] = AT_REST_VERSION;
    stored.set(salt, 1);
    gcmEncryptInto(key, ZERO_NONCE, blobAad(storeId, keyId), blob, stored, 1 + AT_REST_SALT_LENGTH);
    return stored;
  } finally {
    key.fill(0);
  }
}

/**
 * Opens a blob sealed by {@link sealAtRest} for this store and key id.
 *
 * @throws {CryptoError} DECRYPTION_FAILED if it was sealed under another data key, store or
 *   key id, or altered; INVALID_INPUT for a data key or key id that is not 32 bytes or a bad
 *   store id.
 * @example
 * ```ts
 * const envelope = openAtRest(dataKey, "oauth-tokens", keyId, row.value);
 * ```
 */
export function openAtRest(
  dataKey: Uint8Array,
  storeId: string,
  keyId: Uint8Array,
  stored: Uint8Array,
): Buffer {
  assertBlobInputs(dataKey, storeId, keyId);
  assertUint8Array("stored", stored);
  if (stored.length < AT_REST_OVERHEAD || stored[0] !== AT_REST_VERSION) throw decryptionFailed();
  const key = blobKey(dataKey, stored.subarray(1, 1 + AT_REST_SALT_LENGTH));
  try {
    const aad = blobAad(storeId, keyId);
    const blob = gcmDecrypt(key, ZERO_NONCE, aad, stored.subarray(1 + AT_REST_SALT_LENGTH));
    if (blob === undefined) throw decryptionFailed();
    return blob;
  } finally {
    key.fill(0);
  }
}
