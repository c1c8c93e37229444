import { randomBytes } from "node:crypto";
import { CryptoError } from "./crypto-error.js";

/** Prefix that marks a secret made by {@link generateSecret}; lets derivation skip scrypt. */
export const GENERATED_SECRET_PREFIX = "hxs_";

/**
 * The whole string, anchored at both ends: in JavaScript `$` without the `m` flag matches only
 * at the very end, so "hxs_…\n" does not match (Python's, PHP's and Perl's `$` would also
 * match before a final newline; docs/sealing.md §3 says so). assertSecret refuses such a
 * secret before this is ever asked.
 */
const GENERATED_SECRET = /^hxs_[A-Za-z0-9_-]{43}$/;

/**
 * Makes a new secret: "hxs_" followed by 32 random bytes in unpadded base64url (47 characters).
 *
 * @throws never.
 * @example
 * ```ts
 * const secret = generateSecret(); // "hxs_q3…" — store it in your secret manager
 * ```
 */
export function generateSecret(): string {
  return GENERATED_SECRET_PREFIX + randomBytes(32).toString("base64url");
}

/**
 * Tells whether a secret is in the exact form {@link generateSecret} makes.
 *
 * Requires the canonical base64url spelling (re-encoding gives the same text): the last of
 * the 43 characters carries 2 unused bits, and accepting them would let four different
 * strings be one secret. A non-canonical look-alike is still a valid, ordinary secret.
 *
 * @throws never.
 * @example
 * ```ts
 * isGeneratedSecret(generateSecret()); // true
 * ```
 */
export function isGeneratedSecret(secret: string): boolean {
  if (typeof secret !== "string" || !GENERATED_SECRET.test(secret)) return false;
  const encoded = secret.slice(GENERATED_SECRET_PREFIX.length);
  const bytes = Buffer.from(encoded, "base64url");
  const canonical = bytes.length === 32 && bytes.toString("base64url") === encoded;
  bytes.fill(0);
  return canonical;
}

/**
 * The 32 random bytes inside a generated secret; the caller zeroes them when done.
 *
 * @throws {CryptoError} INVALID_INPUT if `secret` is not a generated secret.
 * @example
 * ```ts
 * const ikm = generatedSecretBytes(secret);
 * ```
 */
export function generatedSecretBytes(secret: string): Buffer {
  if (!isGeneratedSecret(secret)) {
    throw new CryptoError("INVALID_INPUT", `"secret" is not a generated (hxs_) secret`);
  }
  return Buffer.from(secret.slice(GENERATED_SECRET_PREFIX.length), "base64url");
}
