import {
  ENC_KEY_LENGTH,
  HEADER_LENGTH,
  KEY_ID_LENGTH,
  LABEL,
  MESSAGE_KDF_HASH,
  MESSAGE_OKM_LENGTH,
  MESSAGE_SALT_LENGTH,
} from "./format-v1.js";
import { hkdfExpand } from "./hkdf-expand.js";
import { ascii } from "./primitives.js";

/**
 * The one-time material for one envelope; its GCM nonce is always ZERO_NONCE. The caller
 * zeroes `okm` (both views) when done.
 */
export interface MessageKeys {
  readonly okm: Buffer;
  readonly encKey: Buffer;
  readonly commitment: Buffer;
}

const MESSAGE_LABEL = ascii(LABEL.message);

/**
 * Derives an envelope's AES key and key commitment from k_seal, its random salt and key id.
 *
 * okm = HKDF-Expand-SHA512(k_seal, "hexclave/v1/message" ‖ salt ‖ key_id, 64), which is one
 * HMAC-SHA512. Expand alone suffices because k_seal is already a uniformly random key (an
 * HKDF output); the salt is part of info, where HMAC's PRF property makes every distinct
 * (salt, key id) give an unrelated key. A fresh 256-bit salt per message means
 * each AES key encrypts once, so the nonce can be zero; the key id in info ties the key to the
 * entry; the commitment (checked before decrypting) makes the envelope open under one key
 * only, which GCM alone does not promise.
 *
 * @throws never for validated inputs.
 * @example
 * ```ts
 * const mk = deriveMessageKeys(kSeal, salt, keyId);
 * ```
 */
export function deriveMessageKeys(
  kSeal: Uint8Array,
  salt: Uint8Array,
  keyId: Uint8Array,
): MessageKeys {
  const info = Buffer.allocUnsafe(MESSAGE_LABEL.length + MESSAGE_SALT_LENGTH + KEY_ID_LENGTH);
  MESSAGE_LABEL.copy(info, 0);
  info.set(salt, MESSAGE_LABEL.length);
  info.set(keyId, MESSAGE_LABEL.length + MESSAGE_SALT_LENGTH);
  const okm = hkdfExpand(MESSAGE_KDF_HASH, kSeal, info, MESSAGE_OKM_LENGTH);
  return {
    okm,
    encKey: okm.subarray(0, ENC_KEY_LENGTH),
    commitment: okm.subarray(ENC_KEY_LENGTH),
  };
}

/**
 * The AAD of an envelope: header ‖ u8 len(store id) ‖ store id ‖ key id.
 *
 * Binding the store id and key id means a blob copied to another entry or store fails to
 * open; binding the header means no header byte can change unnoticed.
 *
 * @throws never for validated inputs.
 * @example
 * ```ts
 * const aad = additionalData(envelope.subarray(0, 73), keys.storeId, keyId);
 * ```
 */
export function additionalData(header: Uint8Array, storeId: string, keyId: Uint8Array): Buffer {
  const id = Buffer.from(storeId, "utf8");
  const aad = Buffer.allocUnsafe(HEADER_LENGTH + 1 + id.length + KEY_ID_LENGTH);
  aad.set(header, 0);
  aad[HEADER_LENGTH] = id.length;
  aad.set(id, HEADER_LENGTH + 1);
  aad.set(keyId, HEADER_LENGTH + 1 + id.length);
  return aad;
}
