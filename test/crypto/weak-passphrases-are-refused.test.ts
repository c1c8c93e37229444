import { describe, expect, it } from "vitest";
import { deriveRootKeySync } from "../../src/crypto/root-key.js";
import { generateSecret } from "../../src/crypto/secret.js";
import { assertSecret } from "../../src/crypto/secret-strength.js";
import { expectCryptoError } from "./expect-crypto-error.js";

// The fingerprint (sent to the server, shown in errors) and every envelope let anyone holding
// them test guesses of a secret offline. scrypt makes each guess cost; these rules refuse the
// secrets that would fall to the first few guesses anyway (docs/sealing.md §3), and the ones
// a secret manager's trailing newline would silently turn into other keys.

const HOW = "run `hexclave secret generate` (or `openssl rand -base64 32`)";
const tooWeak = (reason: string): string => `"secret" is ${reason}; for a strong one, ${HOW}`;
const sixteenEmoji = String.fromCodePoint(...Array.from({ length: 16 }, (_, i) => 0x1f600 + i));

describe("secrets that pass", () => {
  it.each([
    ["a diceware-style passphrase (inner spaces are fine)", "correct horse battery staple"],
    ["16 different characters", "0123456789abcdef"],
    ["16 different astral emoji (each counts as one character)", sixteenEmoji],
    ["a pattern repeated less than twice over", "Password1Password1X"],
    ["an NFD passphrase", "pa\u0301ssword with decomposed accents e\u0301"],
    ["a generated secret", generateSecret()],
  ])("%s", (_, secret) => {
    expect(() => assertSecret(secret)).not.toThrow();
  });
});

describe("secrets that are too short or too regular to protect anything", () => {
  it.each([
    ["", "too short: 0 characters, at least 16 needed"],
    ["password", "too short: 8 characters, at least 16 needed"],
    ["0123456789abcde", "too short: 15 characters, at least 16 needed"],
    // 30 UTF-16 code units, still 15 characters.
    ["🔑".repeat(15), "too short: 15 characters, at least 16 needed"],
    ["a".repeat(40), "too weak: only 1 different character, at least 8 needed"],
    ["🔑".repeat(16), "too weak: only 1 different character, at least 8 needed"],
    ["abcabcabcabcabcabc", "too weak: only 3 different characters, at least 8 needed"],
    ["passwordpassword", "too weak: only 7 different characters, at least 8 needed"],
    ["abcdefghabcdefgh", "too weak: it repeats a pattern of 8 characters"],
    ["Password1Password1", "too weak: it repeats a pattern of 9 characters"],
    ["Password1Password1Pass", "too weak: it repeats a pattern of 9 characters"],
    ["1234567890123456789012345678901234567890", "too weak: it repeats a pattern of 10 characters"],
    [`hxs_${"A".repeat(43)}`, "too weak: only 5 different characters, at least 8 needed"],
  ])("refuses %j: %s", (secret, reason) => {
    expectCryptoError(() => assertSecret(secret), "WEAK_SECRET", tooWeak(reason));
  });

  it("refuses them before any key is derived", () => {
    expectCryptoError(
      () => deriveRootKeySync("abcdefghabcdefgh", "store", Buffer.alloc(32)),
      "WEAK_SECRET",
      tooWeak("too weak: it repeats a pattern of 8 characters"),
    );
  });

  it("refuses a missing secret (an unset environment variable) without echoing anything", () => {
    expectCryptoError(
      () => assertSecret(process.env.HEXCLAVE_SURELY_UNSET_VARIABLE),
      "WEAK_SECRET",
      `"secret" expected a string, got undefined; to make one, ${HOW}`,
    );
  });

  it("never puts the secret in the message", () => {
    for (const secret of ["hunter2-short", "hunter2hunter2hunter2"]) {
      let message = "";
      try {
        assertSecret(secret);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toContain("too");
      expect(message).not.toContain("hunter2");
    }
  });
});

describe("secrets with whitespace at either end, which would silently derive other keys", () => {
  const fix =
    "(a newline or byte-order mark from a file or secret manager?): secrets are used exactly as given, so remove it where the secret is stored or read";
  it.each([
    ["a trailing newline", "correct horse battery staple\n", "ends"],
    ["a trailing CRLF", "correct horse battery staple\r\n", "ends"],
    ["a generated secret with a trailing newline", `${generateSecret()}\n`, "ends"],
    ["a trailing space", "correct horse battery staple ", "ends"],
    ["a trailing no-break space", "correct horse battery staple\u00a0", "ends"],
    [
      "a trailing NEL (U+0085, missing from JavaScript's \\s)",
      "correct horse battery staple\u0085",
      "ends",
    ],
    ["a leading byte-order mark", "\uFEFFcorrect horse battery staple", "starts"],
    ["a leading tab", "\tcorrect horse battery staple", "starts"],
    ["a leading ideographic space", "\u3000correct horse battery staple", "starts"],
  ])("refuses %s", (_, secret, end) => {
    expectCryptoError(
      () => assertSecret(secret),
      "INVALID_INPUT",
      `"secret" ${end} with whitespace ${fix}`,
    );
  });

  it("refuses a lone surrogate, which has no UTF-8 form another client could match", () => {
    expectCryptoError(
      () => assertSecret(`0123456789abcdef\uD800`),
      "INVALID_INPUT",
      '"secret" must be well-formed Unicode: lone surrogate at index 16',
    );
  });
});
