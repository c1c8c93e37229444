import { describe, expect, it } from "vitest";
import {
  assertSecret,
  generatedSecretBytes,
  generateSecret,
  isGeneratedSecret,
} from "../../src/crypto/secret.js";
import { expectCryptoError } from "./expect-crypto-error.js";

const HOW = "run `hexclave secret generate` (or `openssl rand -base64 32`)";

describe("generateSecret", () => {
  it("makes hxs_ + 43 base64url characters holding 32 random bytes", () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^hxs_[A-Za-z0-9_-]{43}$/);
    expect(generatedSecretBytes(secret)).toHaveLength(32);
    expect(isGeneratedSecret(secret)).toBe(true);
    expect(() => assertSecret(secret)).not.toThrow();
  });

  it("never repeats", () => {
    const seen = new Set(Array.from({ length: 1000 }, generateSecret));
    expect(seen.size).toBe(1000);
  });
});

describe("isGeneratedSecret", () => {
  const secret = `hxs_${Buffer.alloc(32, 0xab).toString("base64url")}`;
  it.each([
    ["a canonical generated secret", secret, true],
    ["a non-canonical last character (same bytes, other text)", `${secret.slice(0, -1)}t`, false],
    ["one character short", secret.slice(0, -1), false],
    ["one character long", `${secret}A`, false],
    ["base64 padding", `${secret}=`, false],
    ["a standard-base64 character", `${secret.slice(0, -2)}+w`, false],
    ["an upper-case prefix", `HXS_${secret.slice(4)}`, false],
    ["an ordinary passphrase", "correct horse battery staple", false],
  ])("%s → %s", (_, candidate, expected) => {
    expect(isGeneratedSecret(candidate)).toBe(expected);
  });

  it("is false for non-strings instead of throwing", () => {
    expect(isGeneratedSecret(undefined as unknown as string)).toBe(false);
  });
});

describe("assertSecret", () => {
  it("accepts 16 code points, counting an astral emoji as one", () => {
    expect(() => assertSecret("🔑".repeat(16))).not.toThrow();
    expect(() => assertSecret("0123456789abcdef")).not.toThrow();
  });

  it.each([
    ["", 0],
    ["password", 8],
    ["0123456789abcde", 15],
    ["🔑".repeat(15), 15], // 30 UTF-16 code units, still 15 characters
  ])("refuses %j as too short (%i characters), saying how to make a good one", (secret, n) => {
    expectCryptoError(
      () => assertSecret(secret),
      "WEAK_SECRET",
      `"secret" is too short: ${n} characters, at least 16 needed; for a strong one, ${HOW}`,
    );
  });

  it("refuses a missing secret (an unset environment variable) without echoing anything", () => {
    expectCryptoError(
      () => assertSecret(process.env.HEXCLAVE_SURELY_UNSET_VARIABLE),
      "WEAK_SECRET",
      `"secret" expected a string, got undefined; to make one, ${HOW}`,
    );
  });

  it("refuses a lone surrogate, which has no UTF-8 form another client could match", () => {
    expectCryptoError(
      () => assertSecret(`0123456789abcdef\uD800`),
      "INVALID_INPUT",
      '"secret" must be well-formed Unicode: lone surrogate at index 16',
    );
  });

  it("never puts the secret in the message", () => {
    try {
      assertSecret("hunter2-short");
    } catch (err) {
      expect((err as Error).message).not.toContain("hunter2");
    }
  });
});
