import {
  createCipheriv,
  createDecipheriv,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";

/**
 * What a session id gives, and nothing else does: the hash the database finds
 * the session by, the key its admin token is sealed under, and the CSRF token
 * its forms carry. The id is 256 random bits held only by the browser (an
 * HttpOnly cookie); the database keeps the hash and the sealed token, so a
 * copy of the database can neither resume a session nor read its token.
 */
export interface SessionKeys {
  /** Looks the session up (HKDF of the id: one-way). */
  readonly idHash: Buffer;
  /** AES-256-GCM key of the sealed admin token. */
  readonly tokenKey: Buffer;
  /** The synchronizer token every form of the session carries. */
  readonly csrf: string;
}

const ID_BYTES = 32;
const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/**
 * A new session id: 256 random bits, base64url.
 *
 * @example
 * const id = newSessionId(); // "q3Zk…" (43 characters)
 */
export function newSessionId(): string {
  return randomBytes(ID_BYTES).toString("base64url");
}

/** Whether `text` has the shape of a session id (anything else is not looked up). */
export function isSessionId(text: string): boolean {
  return ID_PATTERN.test(text);
}

/**
 * Derives a session's keys from its id.
 *
 * @throws Error if `id` is not a session id (check with {@link isSessionId}).
 * @example
 * const { idHash, csrf } = sessionKeys(id);
 */
export function sessionKeys(id: string): SessionKeys {
  if (!isSessionId(id)) throw new Error("not a session id");
  const ikm = Buffer.from(id, "base64url");
  const derive = (info: string): Buffer =>
    Buffer.from(
      hkdfSync("sha256", ikm, Buffer.alloc(0), `hexclave/v1 dashboard-session ${info}`, 32),
    );
  const keys = {
    idHash: derive("id"),
    tokenKey: derive("token-key"),
    csrf: derive("csrf").toString("base64url"),
  };
  ikm.fill(0);
  return keys;
}

/**
 * Seals the admin token for the session row: nonce ‖ ciphertext ‖ tag, bound
 * to the row by its id hash.
 *
 * @example
 * const sealed = sealSessionToken(sessionKeys(id), token);
 */
export function sealSessionToken(keys: SessionKeys, token: string): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", keys.tokenKey, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(keys.idHash);
  const body = Buffer.concat([cipher.update(token, "utf8"), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

/**
 * Opens a sealed admin token, or undefined if it does not open (a row altered
 * in the database, or sealed for another session).
 *
 * @example
 * const token = openSessionToken(sessionKeys(id), row.sealedToken);
 */
export function openSessionToken(keys: SessionKeys, sealed: Buffer): string | undefined {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) return undefined;
  const decipher = createDecipheriv("aes-256-gcm", keys.tokenKey, sealed.subarray(0, NONCE_BYTES), {
    authTagLength: TAG_BYTES,
  });
  decipher.setAAD(keys.idHash);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    const plain = Buffer.concat([
      decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)),
      decipher.final(),
    ]);
    const token = plain.toString("utf8");
    plain.fill(0);
    return token;
  } catch {
    return undefined;
  }
}

/**
 * Compares a submitted CSRF token with the session's, in constant time.
 *
 * @example
 * if (!sameCsrf(form.get("csrf"), keys.csrf)) refuse();
 */
export function sameCsrf(submitted: string | null, expected: string): boolean {
  if (submitted === null) return false;
  const a = Buffer.from(submitted, "utf8");
  const b = Buffer.from(expected, "utf8");
  return a.length === b.length && timingSafeEqual(a, b);
}
