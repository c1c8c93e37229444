import { scrypt, scryptSync } from "node:crypto";
import { assertBytes, assertStoreId } from "./assertions.js";
import { LABEL, SCRYPT, SCRYPT_MAXMEM, STORE_SALT_LENGTH } from "./format-v1.js";
import { ascii, hkdf } from "./primitives.js";
import { generatedSecretBytes, isGeneratedSecret } from "./secret.js";
import { assertSecret } from "./secret-strength.js";

/**
 * The per-(secret, store) root key. Internal: {@link deriveStoreKeys} expands it and zeroes
 * it at once; it is exported only so the test vectors can pin it.
 */

const SCRYPT_OPTIONS = { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: SCRYPT_MAXMEM } as const;

/** "hexclave/v1" ‖ UTF-8(store id) ‖ store salt: unambiguous, as the prefix and salt are fixed-length. */
function rootSalt(storeId: string, storeSalt: Uint8Array): Buffer {
  return Buffer.concat([ascii(LABEL.root), Buffer.from(storeId, "utf8"), storeSalt]);
}

function assertRootInputs(secret: unknown, storeId: unknown, storeSalt: unknown): void {
  assertSecret(secret);
  assertStoreId(storeId);
  assertBytes("storeSalt", storeSalt, STORE_SALT_LENGTH);
}

/** A generated secret already holds 256 random bits: nothing to stretch, so HKDF suffices. */
function generatedRoot(secret: string, salt: Buffer): Buffer {
  const ikm = generatedSecretBytes(secret);
  try {
    return hkdf(ikm, salt, ascii(LABEL.generatedRoot), 32);
  } finally {
    ikm.fill(0);
  }
}

/**
 * Derives the root key synchronously (blocks the thread ≈0.5-1 s for a hand-made secret).
 *
 * @throws {CryptoError} WEAK_SECRET or INVALID_INPUT for a bad secret, store id or salt.
 * @example
 * ```ts
 * const root = deriveRootKeySync(secret, "oauth-tokens", storeSalt);
 * ```
 */
export function deriveRootKeySync(secret: string, storeId: string, storeSalt: Uint8Array): Buffer {
  assertRootInputs(secret, storeId, storeSalt);
  const salt = rootSalt(storeId, storeSalt);
  if (isGeneratedSecret(secret)) return generatedRoot(secret, salt);
  const password = Buffer.from(secret, "utf8");
  try {
    return scryptSync(password, salt, SCRYPT.keyLength, SCRYPT_OPTIONS);
  } finally {
    password.fill(0);
  }
}

/**
 * Derives the root key on libuv's threadpool, so a cold start does not stall the event loop.
 *
 * @throws {CryptoError} (rejects) WEAK_SECRET or INVALID_INPUT for a bad secret, store id or salt.
 * @example
 * ```ts
 * const root = await deriveRootKey(secret, "oauth-tokens", storeSalt);
 * ```
 */
export async function deriveRootKey(
  secret: string,
  storeId: string,
  storeSalt: Uint8Array,
): Promise<Buffer> {
  assertRootInputs(secret, storeId, storeSalt);
  const salt = rootSalt(storeId, storeSalt);
  if (isGeneratedSecret(secret)) return generatedRoot(secret, salt);
  const password = Buffer.from(secret, "utf8");
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      scrypt(password, salt, SCRYPT.keyLength, SCRYPT_OPTIONS, (err, key) =>
        err === null ? resolve(key) : reject(err),
      );
    });
  } finally {
    password.fill(0);
  }
}
