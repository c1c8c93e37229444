import { expect } from "vitest";
import type { CryptoErrorCode } from "../../src/crypto/crypto-error.js";
import { DECRYPTION_FAILED_MESSAGE } from "../../src/crypto/crypto-error.js";

/**
 * Asserts `fn` throws a CryptoError with this code and exactly this message (by code and
 * name, not instanceof, as callers do).
 *
 * @throws {AssertionError} when it does not.
 * @example
 * ```ts
 * expectCryptoError(() => open(keys, id, bad), "DECRYPTION_FAILED", DECRYPTION_FAILED_MESSAGE);
 * ```
 */
export function expectCryptoError(fn: () => unknown, code: CryptoErrorCode, message: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, "expected a CryptoError to be thrown").toBeInstanceOf(Error);
  const err = thrown as Error & { code?: unknown };
  expect({ name: err.name, code: err.code, message: err.message }).toEqual({
    name: "CryptoError",
    code,
    message,
  });
}

/**
 * Asserts `fn` fails to open with the one fixed message.
 *
 * @throws {AssertionError} when it opens or fails differently.
 * @example
 * ```ts
 * expectOpenFails(() => open(keys, otherId, envelope));
 * ```
 */
export function expectOpenFails(fn: () => unknown): void {
  expectCryptoError(fn, "DECRYPTION_FAILED", DECRYPTION_FAILED_MESSAGE);
}
