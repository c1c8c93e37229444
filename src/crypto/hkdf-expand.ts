import { createHmac } from "node:crypto";
import { CryptoError } from "./crypto-error.js";

/** The hashes HKDF-Expand is used with here, and their output length (RFC 5869's HashLen). */
const HASH_LENGTH = { sha256: 32, sha512: 64 } as const;

/** A hash {@link hkdfExpand} accepts. */
export type HkdfHash = keyof typeof HASH_LENGTH;

/**
 * HKDF-Expand (RFC 5869 §2.3): `T(i) = HMAC(PRK, T(i-1) ‖ info ‖ u8(i))`, OKM = the first
 * `length` bytes of T(1) ‖ T(2) ‖ …. The caller owns the result and zeroes it when done.
 *
 * Expand alone, without Extract, is for a PRK that is already a uniformly random key
 * (RFC 5869 §3.3): k_seal (an HKDF output) and a store's data key (32 random bytes). It
 * exists because node's `hkdfSync` always extracts and costs 17-26 µs a call (it queues a
 * job and builds a KeyObject), while one `createHmac` costs about 5 µs; for `length` up to
 * one hash block this is exactly one HMAC, and it returns T(1) itself, with no copy.
 *
 * The PRK's length is not checked: RFC 5869 asks for at least HashLen bytes, but HMAC
 * keyed with 32 uniformly random bytes is a 256-bit PRF, which is the strength wanted
 * (HMAC-SHA512 zero-pads such a key, so it equals the 64-byte PRK `k ‖ 0^32`).
 *
 * @throws {CryptoError} INVALID_INPUT when `length` is not an integer from 1 to 255 × HashLen
 *   (zero bytes of key material is a caller's mistake; OpenSSL 3 refuses it too).
 * @example
 * ```ts
 * const okm = hkdfExpand("sha512", kSeal, info, 64); // = HMAC-SHA512(kSeal, info ‖ 0x01)
 * ```
 */
export function hkdfExpand(
  hash: HkdfHash,
  prk: Uint8Array,
  info: Uint8Array,
  length: number,
): Buffer {
  const hashLength = HASH_LENGTH[hash];
  const maxLength = 255 * hashLength;
  if (!Number.isInteger(length) || length < 1 || length > maxLength) {
    throw new CryptoError(
      "INVALID_INPUT",
      `"length" expected an integer from 1 to ${maxLength} (255 × HashLen), got ${length}`,
    );
  }
  const counter = Buffer.of(1);
  let block = createHmac(hash, prk).update(info).update(counter).digest();
  if (length === hashLength) return block; // the hot path: one HMAC, and T(1) is the output
  const okm = Buffer.alloc(length);
  let offset = block.copy(okm, 0);
  while (offset < length) {
    counter[0]! += 1;
    const next = createHmac(hash, prk).update(block).update(info).update(counter).digest();
    block.fill(0);
    block = next;
    offset += block.copy(okm, offset);
  }
  block.fill(0);
  return okm;
}
