import { assertWellFormed, describeType } from "./assertions.js";
import { CryptoError } from "./crypto-error.js";

/**
 * The rules every secret must pass before it derives a key (docs/sealing.md §3). They are
 * purely textual and deterministic, so every client refuses exactly the same secrets.
 *
 * They cannot measure strength. The fingerprint and every envelope let anyone who holds them
 * test guesses of a secret offline, so they only refuse what is certainly weak: too short,
 * too few different characters, or one short pattern repeated. A secret that passes may
 * still be guessable; `hexclave secret generate` makes one that is not.
 */

/** Fewest Unicode code points a secret may have. */
export const MIN_SECRET_CODE_POINTS = 16;
/** Fewest different code points a secret may have ("aaaa…", "abababab…" are refused). */
export const MIN_DISTINCT_CODE_POINTS = 8;

/**
 * Unicode White_Space (25 code points) plus U+FEFF (a byte-order mark from a text file).
 * Spelled out rather than `\s`, whose set differs between regex engines and languages.
 */
const WHITESPACE =
  "\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff";
const LEADING_WHITESPACE = new RegExp(`^[${WHITESPACE}]`);
const TRAILING_WHITESPACE = new RegExp(`[${WHITESPACE}]$`);

const HOW_TO_MAKE_ONE = "run `hexclave secret generate` (or `openssl rand -base64 32`)";

function weak(reason: string): CryptoError {
  return new CryptoError(
    "WEAK_SECRET",
    `"secret" is ${reason}; for a strong one, ${HOW_TO_MAKE_ONE}`,
  );
}

/**
 * The shortest p such that every code point equals the one p places before it (the string's
 * period; its length if nothing repeats). Knuth-Morris-Pratt's failure function, so a long
 * secret costs linear time.
 */
function shortestPeriod(codePoints: readonly number[]): number {
  const n = codePoints.length;
  const border = new Array<number>(n).fill(0);
  for (let i = 1, k = 0; i < n; i++) {
    while (k > 0 && codePoints[i] !== codePoints[k]) k = border[k - 1] ?? 0;
    if (codePoints[i] === codePoints[k]) k++;
    border[i] = k;
  }
  return n - (border[n - 1] ?? 0);
}

/**
 * Asserts a secret may derive keys: a well-formed string, no whitespace at either end, at
 * least 16 code points, at least 8 different ones, and not one pattern repeated.
 *
 * Whitespace at the ends is refused rather than trimmed: secrets are used exactly as given,
 * so a newline a secret manager appended would silently give other keys (and turn a
 * generated `hxs_` secret into a passphrase). Messages never echo the secret.
 *
 * @throws {CryptoError} WEAK_SECRET when not a string, too short, with too few different
 *   characters or a repeated pattern; INVALID_INPUT when it starts or ends with whitespace or
 *   holds a lone surrogate (no UTF-8 form, so other-language clients could not match it).
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
  assertWellFormed("secret", secret);
  const end = LEADING_WHITESPACE.test(secret)
    ? "starts"
    : TRAILING_WHITESPACE.test(secret)
      ? "ends"
      : undefined;
  if (end !== undefined) {
    throw new CryptoError(
      "INVALID_INPUT",
      `"secret" ${end} with whitespace (a newline or byte-order mark from a file or secret manager?): ` +
        "secrets are used exactly as given, so remove it where the secret is stored or read",
    );
  }
  const codePoints = Array.from(secret, (c) => c.codePointAt(0) as number);
  if (codePoints.length < MIN_SECRET_CODE_POINTS) {
    throw weak(
      `too short: ${codePoints.length} characters, at least ${MIN_SECRET_CODE_POINTS} needed`,
    );
  }
  const distinct = new Set(codePoints).size;
  if (distinct < MIN_DISTINCT_CODE_POINTS) {
    throw weak(
      `too weak: only ${distinct} different character${distinct === 1 ? "" : "s"}, at least ${MIN_DISTINCT_CODE_POINTS} needed`,
    );
  }
  const period = shortestPeriod(codePoints);
  if (period * 2 <= codePoints.length) {
    throw weak(`too weak: it repeats a pattern of ${period} characters`);
  }
}
