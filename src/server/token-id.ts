import { bearerToken, parseAccessToken } from "../vault/access-token.js";

/**
 * The token id in an `authorization` value, for logs and audit records: the
 * public part of a well-formed `hxk_<id>_<secret>` token, known or not, or
 * undefined. Never the secret part, and nothing from a malformed value.
 *
 * @example
 * tokenIdOf("Bearer hxk_0123456789abcdef_…"); // "0123456789abcdef"
 */
export function tokenIdOf(authorization: unknown): string | undefined {
  if (typeof authorization !== "string") return undefined;
  const token = bearerToken(authorization);
  return token === undefined ? undefined : parseAccessToken(token)?.id;
}
