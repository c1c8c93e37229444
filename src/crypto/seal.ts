import { randomBytes } from "node:crypto";
import { assertBytes, assertWellFormed, assertWrittenAt, describeType } from "./assertions.js";
import { CryptoError } from "./crypto-error.js";
import {
  COMMITMENT_OFFSET,
  ENVELOPE_VERSION,
  HEADER_LENGTH,
  KIND_BYTES,
  KIND_TEXT,
  MAX_VALUE_BYTES,
  MESSAGE_SALT_LENGTH,
  SALT_OFFSET,
  TAG_LENGTH,
  ZERO_NONCE,
} from "./format-v1.js";
import { encodeFrame } from "./frame.js";
import { encodeKeyName } from "./key-name.js";
import { additionalData, deriveMessageKeys } from "./message-keys.js";
import { gcmEncryptInto, hmacSha256 } from "./primitives.js";
import { type StoreKeys, storeKeyMaterial } from "./store-keys.js";

/**
 * Validates a value and returns its kind and UTF-8 length; strings are sealed as "text".
 * The value itself is not copied: encodeFrame writes it straight into the frame.
 */
function checkValue(value: unknown): { kind: number; length: number } {
  if (typeof value === "string") {
    const length = Buffer.byteLength(value, "utf8");
    if (length > MAX_VALUE_BYTES) {
      throw new CryptoError(
        "INVALID_INPUT",
        `"value" expected at most ${MAX_VALUE_BYTES} UTF-8 bytes, got ${length}`,
      );
    }
    assertWellFormed("value", value);
    return { kind: KIND_TEXT, length };
  }
  if (value instanceof Uint8Array) {
    if (value.length > MAX_VALUE_BYTES) {
      throw new CryptoError(
        "INVALID_INPUT",
        `"value" expected at most ${MAX_VALUE_BYTES} bytes, got ${value.length}`,
      );
    }
    return { kind: KIND_BYTES, length: value.length };
  }
  throw new CryptoError(
    "INVALID_INPUT",
    `"value" expected a string or Uint8Array, got ${describeType(value)}`,
  );
}

/**
 * Seals a value under a key name with a fresh random salt: the only sealing callers need.
 *
 * The salt is made here, not passed in, so no caller can reuse one. The envelope carries the
 * key name too (encrypted), so whoever holds the secret can list and re-seal entries, and the
 * write time, so a reader can see how old a value is (a server can replay an older one).
 *
 * @param writtenAt Unix milliseconds to record; default now. Re-sealing (secret rotation)
 *   passes the time the value was first sealed, so rotating does not make old values look new.
 * @throws {CryptoError} INVALID_INPUT for a bad key name (empty, > 1,024 UTF-8 bytes, lone
 *   surrogate), a value over 1 MiB or of another type, a write time that is not whole
 *   milliseconds from 0 to 8.64e15, or destroyed keys.
 * @example
 * ```ts
 * const envelope = seal(keys, `gh:${user.id}`, refreshToken);
 * await vault.setValue({ keyId: computeKeyId(keys, `gh:${user.id}`), sealedValue: envelope });
 * ```
 */
export function seal(
  keys: StoreKeys,
  keyName: string,
  value: string | Uint8Array,
  writtenAt: number = Date.now(),
): Buffer {
  return sealWithSalt(keys, keyName, value, randomBytes(MESSAGE_SALT_LENGTH), writtenAt);
}

/**
 * Seals with a caller-chosen salt. For test vectors only: reusing a salt for two values under
 * one key id reuses the AES-GCM key with the same (zero) nonce, which breaks confidentiality
 * and integrity. Never re-export this from a package entry point.
 *
 * @throws {CryptoError} INVALID_INPUT as {@link seal}, or a salt that is not 32 bytes.
 * @example
 * ```ts
 * const envelope = sealWithSalt(keys, "gh:42", "gho_…", Buffer.alloc(32, 7), 1767225600000); // vectors only
 * ```
 */
export function sealWithSalt(
  keys: StoreKeys,
  keyName: string,
  value: string | Uint8Array,
  salt: Uint8Array,
  writtenAt: number,
): Buffer {
  const { kId, kSeal, fingerprint } = storeKeyMaterial(keys);
  const nameBytes = encodeKeyName(keyName);
  const { kind, length } = checkValue(value);
  assertBytes("salt", salt, MESSAGE_SALT_LENGTH);
  assertWrittenAt(writtenAt);

  const keyId = hmacSha256(kId, nameBytes);
  const mk = deriveMessageKeys(kSeal, salt, keyId);
  const frame = encodeFrame(kind, writtenAt, nameBytes, value, length);
  try {
    // One allocation for the whole envelope: the header is written in place, and the
    // ciphertext and tag are written after it.
    const envelope = Buffer.allocUnsafe(HEADER_LENGTH + frame.length + TAG_LENGTH);
    envelope[0] = ENVELOPE_VERSION;
    envelope.set(fingerprint, 1);
    envelope.set(salt, SALT_OFFSET);
    envelope.set(mk.commitment, COMMITMENT_OFFSET);
    const aad = additionalData(envelope.subarray(0, HEADER_LENGTH), keys.storeId, keyId);
    gcmEncryptInto(mk.encKey, ZERO_NONCE, aad, frame, envelope, HEADER_LENGTH);
    return envelope;
  } finally {
    frame.fill(0);
    mk.okm.fill(0);
  }
}
