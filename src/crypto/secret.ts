import { randomBytes } from "node:crypto";
import { assertWellFormed, describeType } from "./assertions.js";
import { CryptoError } from "./crypto-error.js";

/** Prefix that marks a secret made by {@link generateSecret}; lets derivation skip scrypt. */
export const GENERATED_SECRET_PREFIX = "hxs_";

/** Fewest Unicode code points a hand-made secret may have. */
export const MIN_SECRET_CODE_POINTS = 16;

const GENERATED_SECRET = /^hxs_[A-Za-z0-9_-]{43}$/;
const HOW_TO_MAKE_ONE = "run `hexclave secret generate` (or `openssl rand -base64 32`)";

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
 * Asserts a secret is a string of at least 16 Unicode code points.
 *
 * This cannot measure entropy; it only stops the obvious mistakes (empty, `undefined` from
 * a missing environment variable, "password"). The message never echoes the secret.
 *
 * @throws {CryptoError} WEAK_SECRET when not a string or too short; INVALID_INPUT when it
 *   holds a lone surrogate (it has no UTF-8 form, so other-language clients could not match it).
 * @example
 * ```ts
 * assertSecret(process.env.HEXCLAVE_SECRET);
 * ```
 */
export function assertSecret(secret: unknown): asserts secret is string {
  if (typeof secret !== "string") {
    throw new CryptoError(
      "WEAK_SECRET",
      `"secret" expected a string, got ${describeType(secret)}; to make one, ${HOW_TO_MAKE_ONE}`,
    );
  }
  let codePoints = 0;
  for (const _ of secret) codePoints++;
  if (codePoints < MIN_SECRET_CODE_POINTS) {
    throw new CryptoError(
      "WEAK_SECRET",
      `"secret" is too short: ${codePoints} characters, at least ${MIN_SECRET_CODE_POINTS} needed; for a strong one, ${HOW_TO_MAKE_ONE}`,
    );
  }
  assertWellFormed("secret", secret);
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
