/** Stable codes callers `switch` on; `instanceof` breaks when two copies of the package load. */
export type CryptoErrorCode = "WEAK_SECRET" | "DECRYPTION_FAILED" | "INVALID_INPUT";

/**
 * The one message every failure to open carries, whichever step failed.
 *
 * Saying which check failed (fingerprint, commitment, tag, frame, padding, key id) would hand
 * an attacker who can submit envelopes an oracle, so all of them read the same.
 */
export const DECRYPTION_FAILED_MESSAGE =
  "The value could not be opened: it was not sealed under this secret for this key and store, or it was altered.";

/**
 * The error every function in `src/crypto` throws.
 *
 * @throws never; it is what gets thrown.
 * @example
 * ```ts
 * try {
 *   open(keys, keyId, envelope);
 * } catch (err) {
 *   if ((err as CryptoError).code === "DECRYPTION_FAILED") return null;
 *   throw err;
 * }
 * ```
 */
export class CryptoError extends Error {
  override readonly name = "CryptoError";
  readonly code: CryptoErrorCode;

  constructor(code: CryptoErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * Builds the single opaque "could not open" error.
 *
 * Deliberately takes no argument and attaches no `cause`: there is nothing a caller could
 * pass that would not risk leaking which step failed.
 *
 * @throws never; returns the error for the caller to throw.
 * @example
 * ```ts
 * if (!ok) throw decryptionFailed();
 * ```
 */
export function decryptionFailed(): CryptoError {
  return new CryptoError("DECRYPTION_FAILED", DECRYPTION_FAILED_MESSAGE);
}
