import {
  COMMITMENT_LENGTH,
  ENC_KEY_LENGTH,
  HEADER_LENGTH,
  KEY_ID_LENGTH,
  LABEL,
  NONCE_LENGTH,
} from "./format-v1.js";
import { ascii, hkdf } from "./primitives.js";

/** The one-time material for one envelope. The caller zeroes `okm` (all three views) when done. */
export interface MessageKeys {
  readonly okm: Buffer;
  readonly encKey: Buffer;
  readonly nonce: Buffer;
  readonly commitment: Buffer;
}

const MESSAGE_LABEL = ascii(LABEL.message);

/**
 * Derives an envelope's AES key, nonce and key commitment from k_seal and its random salt.
 *
 * okm = HKDF-SHA256(k_seal, salt, "hexclave/v1/message" ‖ key_id, 76). A fresh 32-byte salt
 * gives a fresh key per message, so GCM's nonce limits never come into play; the key id in
 * info ties the key to the entry; the commitment (checked before decrypting) makes the
 * envelope open under one key only, which GCM alone does not promise.
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
  const info = Buffer.concat([MESSAGE_LABEL, keyId]);
  const okm = hkdf(kSeal, salt, info, ENC_KEY_LENGTH + NONCE_LENGTH + COMMITMENT_LENGTH);
  return {
    okm,
    encKey: okm.subarray(0, ENC_KEY_LENGTH),
    nonce: okm.subarray(ENC_KEY_LENGTH, ENC_KEY_LENGTH + NONCE_LENGTH),
    commitment: okm.subarray(ENC_KEY_LENGTH + NONCE_LENGTH),
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
