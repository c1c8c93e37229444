import { timingSafeEqual } from "node:crypto";
import { assertUint8Array } from "./assertions.js";
import { decryptionFailed } from "./crypto-error.js";
import {
  COMMITMENT_OFFSET,
  ENVELOPE_VERSION,
  HEADER_LENGTH,
  isPaddedLength,
  KEY_ID_LENGTH,
  MIN_ENVELOPE_LENGTH,
  SALT_OFFSET,
  TAG_LENGTH,
  ZERO_NONCE,
} from "./format-v1.js";
import { decodeFrame } from "./frame.js";
import { additionalData, deriveMessageKeys } from "./message-keys.js";
import { gcmDecrypt, hmacSha256 } from "./primitives.js";
import { type StoreKeys, storeKeyMaterial } from "./store-keys.js";

/** What an envelope held: the key name it was sealed under, the write time and the value. */
export interface OpenedValue {
  /** The key name, checked to hash to the key id the envelope was opened under. */
  keyName: string;
  /** "text" if a string was sealed (value is its UTF-8), "bytes" if a Uint8Array was. */
  kind: "text" | "bytes";
  /**
   * The sealer's clock when the value was written, in Unix milliseconds. Authenticated, but
   * only as honest as the sealer's clock; a replayed old envelope shows its old time.
   */
  writtenAt: number;
  value: Buffer;
}

/**
 * Opens an envelope sealed by {@link seal} under the entry's key id.
 *
 * Steps, each failing with the same error: length and version; fingerprint; key commitment
 * (constant time, before decrypting, so one envelope cannot be made to open under two keys);
 * AES-GCM tag over header, store id and key id; frame syntax, write time and zero padding;
 * and finally that the sealed key name hashes to `keyId`, so a server cannot return one
 * entry's value under another's id.
 *
 * @throws {CryptoError} DECRYPTION_FAILED with {@link DECRYPTION_FAILED_MESSAGE} on any failure
 *   to open, including a key id that is not 32 bytes; INVALID_INPUT if an argument is not a
 *   Uint8Array or the keys were destroyed (bugs in the caller, not bad data).
 * @example
 * ```ts
 * const { kind, value } = open(keys, keyId, response.sealedValue);
 * const token = kind === "text" ? value.toString("utf8") : value;
 * ```
 */
export function open(keys: StoreKeys, keyId: Uint8Array, envelope: Uint8Array): OpenedValue {
  const { kId, kSeal, fingerprint } = storeKeyMaterial(keys);
  assertUint8Array("keyId", keyId);
  assertUint8Array("envelope", envelope);
  // Lengths and the version byte are public; checking them first costs no secret timing.
  if (keyId.length !== KEY_ID_LENGTH) throw decryptionFailed();
  const bodyLength = envelope.length - HEADER_LENGTH - TAG_LENGTH;
  if (envelope.length < MIN_ENVELOPE_LENGTH || !isPaddedLength(bodyLength)) {
    throw decryptionFailed();
  }
  if (envelope[0] !== ENVELOPE_VERSION) throw decryptionFailed();
  const sealedFingerprint = envelope.subarray(1, SALT_OFFSET);
  if (!timingSafeEqual(sealedFingerprint, fingerprint)) throw decryptionFailed();

  const salt = envelope.subarray(SALT_OFFSET, COMMITMENT_OFFSET);
  const mk = deriveMessageKeys(kSeal, salt, keyId);
  let frame: Buffer | undefined;
  try {
    const commitment = envelope.subarray(COMMITMENT_OFFSET, HEADER_LENGTH);
    if (!timingSafeEqual(commitment, mk.commitment)) throw decryptionFailed();
    const header = envelope.subarray(0, HEADER_LENGTH);
    const aad = additionalData(header, keys.storeId, keyId);
    frame = gcmDecrypt(mk.encKey, ZERO_NONCE, aad, envelope.subarray(HEADER_LENGTH));
    if (frame === undefined) throw decryptionFailed();
    const decoded = decodeFrame(frame);
    if (decoded === undefined) throw decryptionFailed();
    if (!timingSafeEqual(hmacSha256(kId, decoded.nameBytes), keyId)) throw decryptionFailed();
    // The one copy of the value: decoded's fields are views into the frame, zeroed below.
    return {
      keyName: decoded.keyName,
      kind: decoded.kind,
      writtenAt: decoded.writtenAt,
      value: Buffer.from(decoded.value),
    };
  } finally {
    frame?.fill(0);
    mk.okm.fill(0);
  }
}

/**
 * The secret fingerprint in an envelope's header, without opening it.
 *
 * Lets a client holding several secrets (during rotation) pick the one to open with. The
 * fingerprint is public; this says nothing about whether the envelope is genuine.
 *
 * @throws never; `undefined` for anything too short to be an envelope or of an unknown version.
 * @example
 * ```ts
 * const fp = envelopeFingerprint(sealedValue);
 * const keys = fp && candidates.find((k) => k.fingerprint.equals(fp));
 * ```
 */
export function envelopeFingerprint(envelope: Uint8Array): Buffer | undefined {
  if (!(envelope instanceof Uint8Array) || envelope.length < MIN_ENVELOPE_LENGTH) return undefined;
  if (envelope[0] !== ENVELOPE_VERSION) return undefined;
  return Buffer.from(envelope.subarray(1, SALT_OFFSET));
}
