import { assertWellFormed, describeType } from "./assertions.js";
import { CryptoError } from "./crypto-error.js";
import { MAX_KEY_NAME_BYTES } from "./format-v1.js";

/**
 * Validates a key name and returns its UTF-8 bytes, the form that is hashed and sealed.
 *
 * Names are not normalized: "é" precomposed and decomposed are different keys, exactly as
 * they are different strings in the caller's code.
 *
 * @throws {CryptoError} INVALID_INPUT when not a string, empty, over 1,024 UTF-8 bytes, or
 *   holding a lone surrogate.
 * @example
 * ```ts
 * const nameBytes = encodeKeyName("gh:42");
 * ```
 */
export function encodeKeyName(keyName: unknown): Buffer {
  if (typeof keyName !== "string") {
    throw new CryptoError(
      "INVALID_INPUT",
      `"keyName" expected a string, got ${describeType(keyName)}`,
    );
  }
  if (keyName.length === 0) {
    throw new CryptoError("INVALID_INPUT", `"keyName" must not be empty`);
  }
  const byteLength = Buffer.byteLength(keyName, "utf8");
  if (byteLength > MAX_KEY_NAME_BYTES) {
    throw new CryptoError(
      "INVALID_INPUT",
      `"keyName" expected at most ${MAX_KEY_NAME_BYTES} UTF-8 bytes, got ${byteLength}`,
    );
  }
  assertWellFormed("keyName", keyName);
  return Buffer.from(keyName, "utf8");
}
