import { describe, expect, it } from "vitest";
import {
  generatedSecretBytes,
  generateSecret,
  isGeneratedSecret,
} from "../../src/crypto/secret.js";
import { assertSecret } from "../../src/crypto/secret-strength.js";

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
    ["a trailing newline (an unanchored `$` would accept it)", `${secret}\n`, false],
    ["a trailing CRLF", `${secret}\r\n`, false],
    ["a leading space", ` ${secret}`, false],
    ["an ordinary passphrase", "correct horse battery staple", false],
  ])("%s → %s", (_, candidate, expected) => {
    expect(isGeneratedSecret(candidate)).toBe(expected);
  });

  it("is false for non-strings instead of throwing", () => {
    expect(isGeneratedSecret(undefined as unknown as string)).toBe(false);
  });
});
