import { createHash, randomBytes, scryptSync, timingSafeEqual } from "node:crypto";
import type { TokenRow } from "./storage-port.js";

/** Every Hexclave access token starts with this, so scanners can spot leaked ones. */
export const TOKEN_PREFIX = "hxk_";
const ID_PATTERN = /^[0-9a-f]{16}$/;
const TOKEN_PATTERN = /^hxk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** A newly made token: the full text (shown once) and what is stored. */
export interface NewAccessToken {
  readonly id: string;
  readonly token: string;
  readonly secretHash: Buffer;
}

/**
 * Makes a token "hxk_<16 hex id>_<43 base64url chars>": a public id to find
 * its record by, and 256 random bits of which only a hash is stored.
 *
 * @example
 * const { id, token, secretHash } = newAccessToken();
 */
export function newAccessToken(): NewAccessToken {
  const id = randomBytes(8).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  return { id, token: `${TOKEN_PREFIX}${id}_${secret}`, secretHash: hashTokenSecret(secret) };
}

/** Splits a presented token into id and secret part, or undefined if it is not one. */
export function parseAccessToken(token: string): { id: string; secret: string } | undefined {
  const match = TOKEN_PATTERN.exec(token);
  if (match === null) return undefined;
  return { id: match[1] as string, secret: match[2] as string };
}

/**
 * The token in an `authorization` metadata value ("Bearer <token>"), or
 * undefined if the value does not have that shape.
 *
 * @example
 * bearerToken("Bearer hxk_…"); // "hxk_…"
 */
export function bearerToken(authorization: string): string | undefined {
  return BEARER.exec(authorization)?.[1];
}

const BEARER = /^Bearer +(\S+) *$/i;

/** Whether `id` has the shape of a token id. */
export function isTokenId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/**
 * SHA-256 of a token's secret part. The secret carries 256 random bits, so a
 * fast hash is enough: there is nothing to guess.
 */
export function hashTokenSecret(secret: string): Buffer {
  return createHash("sha256").update(secret, "utf8").digest();
}

/** Compares two hashes in constant time. */
export function sameHash(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The token id HEXCLAVE_ADMIN_TOKEN goes by (in `tokens list`, audit records,
 * logs, and to revoke it): 16 hex digits derived from the token itself, so
 * every server on a database agrees on it without storing anything, and a
 * new value is a new token. The token is operator-chosen text that may be
 * guessable, and its id is shown widely, so the id comes from scrypt (32 MiB,
 * tens of ms, once per process), not a fast hash a log reader could test
 * guesses against.
 *
 * @example
 * const id = bootstrapTokenId(process.env.HEXCLAVE_ADMIN_TOKEN!);
 */
export function bootstrapTokenId(token: string): string {
  return scryptSync(token, "hexclave: the token id of HEXCLAVE_ADMIN_TOKEN", 8, {
    N: 2 ** 15,
    r: 8,
    p: 1,
    maxmem: 64 * 1024 * 1024,
  }).toString("hex");
}

/**
 * A token's row as it is first stored: never used, not revoked, created now
 * unless told otherwise.
 *
 * @example
 * const row = freshTokenRow({ id, name: "ci", secretHash, admin: true, grants: [] });
 */
export function freshTokenRow(
  fields: Pick<TokenRow, "id" | "name" | "secretHash" | "admin" | "grants"> &
    Partial<Pick<TokenRow, "createdAt" | "expiresAt">>,
): TokenRow {
  return {
    createdAt: Date.now(),
    expiresAt: null,
    ...fields,
    lastUsedAt: null,
    revokedAt: null,
  };
}
