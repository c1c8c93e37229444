import { createCipheriv, createDecipheriv, createHmac, hkdfSync } from "node:crypto";
import { TAG_LENGTH } from "./format-v1.js";

/**
 * Thin wrappers over node:crypto so every caller uses the same algorithm names and tag length.
 * Internal to src/crypto; not a home-made primitive, just one spelling of the node ones.
 */

/**
 * HKDF-SHA256 (RFC 5869), extract then expand, returning a Buffer the caller owns (and should
 * zero when done). For the once-per-store derivations only: it costs 17-26 µs a call in
 * Node 20, so the per-message paths use `hkdfExpand` (hkdf-expand.ts: one HMAC) instead.
 *
 * @throws {Error} from node:crypto only if `length` exceeds 255 × 32 bytes.
 * @example
 * ```ts
 * const kSeal = hkdf(root, Buffer.alloc(0), Buffer.from("hexclave/v1/seal"), 32);
 * ```
 */
export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Buffer {
  return Buffer.from(hkdfSync("sha256", ikm, salt, info, length));
}

/**
 * HMAC-SHA256 of `data` under `key`.
 *
 * @throws never for Uint8Array inputs.
 * @example
 * ```ts
 * const keyId = hmacSha256(kId, Buffer.from("gh:42"));
 * ```
 */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Buffer {
  return createHmac("sha256", key).update(data).digest();
}

/**
 * AES-256-GCM encryption of `plaintext`, writing ciphertext ‖ 16-byte tag into `out` from
 * `offset` to its end. Callers allocate the whole envelope once, header included, so the
 * ciphertext is copied once instead of concatenated twice.
 *
 * Callers must never repeat (key, nonce): envelopes and blobs get a fresh key each (so their
 * nonce is fixed), wrapped data keys a random IV.
 *
 * @throws {Error} if `out` does not end exactly where the tag does (a bug: an unsafe
 *   allocation must never be returned with bytes left unwritten), or from node:crypto if the
 *   key is not 32 bytes or the nonce is empty.
 * @example
 * ```ts
 * const envelope = Buffer.allocUnsafe(HEADER_LENGTH + frame.length + TAG_LENGTH);
 * gcmEncryptInto(key, nonce, aad, frame, envelope, HEADER_LENGTH);
 * ```
 */
export function gcmEncryptInto(
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
  out: Buffer,
  offset: number,
): void {
  if (out.length - offset !== plaintext.length + TAG_LENGTH) {
    throw new Error(
      `gcmEncryptInto: ${out.length - offset} bytes from offset ${offset}, need ${plaintext.length + TAG_LENGTH}`,
    );
  }
  const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_LENGTH });
  cipher.setAAD(aad);
  let written = offset + cipher.update(plaintext).copy(out, offset);
  written += cipher.final().copy(out, written); // empty for GCM, a stream mode
  cipher.getAuthTag().copy(out, written);
}

/**
 * AES-256-GCM decryption of ciphertext ‖ tag; `undefined` when the tag does not verify.
 *
 * Returns no reason on failure on purpose: callers turn every failure into one error.
 * Plaintext released by `update` before the tag check is zeroed, never returned.
 *
 * @throws {Error} from node:crypto only for a wrong key or nonce length (a bug, not bad data).
 * @example
 * ```ts
 * const frame = gcmDecrypt(key, nonce, aad, sealed);
 * if (frame === undefined) throw decryptionFailed();
 * ```
 */
export function gcmDecrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  sealed: Uint8Array,
): Buffer | undefined {
  if (sealed.length < TAG_LENGTH) return undefined;
  const split = sealed.length - TAG_LENGTH;
  const decipher = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_LENGTH });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(split));
  const body = decipher.update(sealed.subarray(0, split));
  try {
    const tail = decipher.final();
    return tail.length === 0 ? body : Buffer.concat([body, tail]);
  } catch {
    body.fill(0);
    return undefined;
  }
}

/**
 * UTF-8 bytes of an ASCII label, for HKDF infos and salts.
 *
 * @throws never.
 * @example
 * ```ts
 * ascii("hexclave/v1/seal");
 * ```
 */
export function ascii(label: string): Buffer {
  return Buffer.from(label, "ascii");
}
