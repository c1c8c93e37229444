import { randomBytes } from "node:crypto";

/**
 * Values shaped like the tokens Hexclave exists to hold: OAuth access and
 * refresh tokens and API keys of 40 to 100 characters, with the prefixes
 * their providers use. Their sealed envelopes all land in the smallest
 * padding bucket, as real tokens do.
 */

const PREFIXES = ["gho_", "ghr_", "ya29.", "1//0g", "xoxb-", "sk_live_", "glpat-", "AKIA"] as const;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Shortest and longest value made, in characters. */
export const TOKEN_LENGTH = { min: 40, max: 100 } as const;

/**
 * A random provider-style token of 40 to 100 ASCII characters.
 *
 * @throws never.
 * @example
 * const value = tokenValue(); // "ya29.k3J…" (40–100 characters)
 */
export function tokenValue(): string {
  const random = randomBytes(TOKEN_LENGTH.max + 2);
  const prefix = PREFIXES[random[0]! % PREFIXES.length]!;
  const length = TOKEN_LENGTH.min + (random[1]! % (TOKEN_LENGTH.max - TOKEN_LENGTH.min + 1));
  let body = "";
  for (let i = prefix.length; i < length; i++) body += ALPHABET[random[i + 2]! % ALPHABET.length];
  return prefix + body;
}

/**
 * The key name of the i-th preloaded entry, as an application would name a
 * user's token.
 *
 * @throws never.
 * @example
 * keyName(42); // "user:42:oauth"
 */
export function keyName(index: number): string {
  return `user:${index}:oauth`;
}
