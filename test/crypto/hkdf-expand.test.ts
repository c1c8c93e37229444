import { createHmac, hkdfSync } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type HkdfHash, hkdfExpand } from "../../src/crypto/hkdf-expand.js";
import { expectCryptoError } from "./expect-crypto-error.js";

// Every envelope's and every stored blob's key comes from hkdfExpand, a loop over HMAC we
// wrote ourselves instead of node's hkdfSync. It is checked against the RFC's own vectors
// and against hkdfSync for random inputs; one wrong byte here would make every envelope
// unreadable to a conforming client in another language.

const unhex = (text: string): Buffer => Buffer.from(text, "hex");
const HASH_LENGTH = { sha256: 32, sha512: 64 } as const;

/** HKDF-Extract (RFC 5869 §2.2) with createHmac: PRK = HMAC(salt or HashLen zeros, IKM). */
function extract(hash: HkdfHash, salt: Uint8Array, ikm: Uint8Array): Buffer {
  const key = salt.length > 0 ? salt : Buffer.alloc(HASH_LENGTH[hash]);
  return createHmac(hash, key).update(ikm).digest();
}

const range = (from: number, to: number): Buffer =>
  Buffer.from(Array.from({ length: to - from + 1 }, (_, i) => from + i));

/** RFC 5869 Appendix A, test cases 1-3 (SHA-256), as published. */
const RFC_5869 = [
  {
    name: "A.1 basic",
    ikm: Buffer.alloc(22, 0x0b),
    salt: unhex("000102030405060708090a0b0c"),
    info: unhex("f0f1f2f3f4f5f6f7f8f9"),
    length: 42,
    prk: "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
    okm: "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
  },
  {
    name: "A.2 longer inputs and outputs (three blocks)",
    ikm: range(0x00, 0x4f),
    salt: range(0x60, 0xaf),
    info: range(0xb0, 0xff),
    length: 82,
    prk: "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
    okm:
      "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c" +
      "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71" +
      "cc30c58179ec3e87c14c01d5c1f3434f1d87",
  },
  {
    name: "A.3 zero-length salt and info",
    ikm: Buffer.alloc(22, 0x0b),
    salt: Buffer.alloc(0),
    info: Buffer.alloc(0),
    length: 42,
    prk: "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
    okm: "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
  },
];

describe("hkdfExpand", () => {
  for (const v of RFC_5869) {
    it(`gives RFC 5869 ${v.name}'s OKM from its PRK`, () => {
      expect(hkdfExpand("sha256", unhex(v.prk), v.info, v.length).toString("hex")).toBe(v.okm);
      // The Extract used below agrees with the RFC too, so the hkdfSync comparison is sound.
      expect(extract("sha256", v.salt, v.ikm).toString("hex")).toBe(v.prk);
    });
  }

  it("equals node's hkdfSync as Expand(Extract(salt, IKM)) for any inputs and length", () => {
    const hash = fc.constantFrom<HkdfHash>("sha256", "sha512");
    const bytes = fc.uint8Array({ maxLength: 300 });
    const input = hash.chain((h) =>
      fc.tuple(
        fc.constant(h),
        bytes,
        bytes,
        bytes,
        fc.oneof(
          fc.integer({ min: 1, max: 255 * HASH_LENGTH[h] }),
          fc.constantFrom(1, HASH_LENGTH[h], HASH_LENGTH[h] + 1, 255 * HASH_LENGTH[h]),
        ),
      ),
    );
    fc.assert(
      fc.property(input, ([h, ikm, salt, info, length]) => {
        const ours = hkdfExpand(h, extract(h, salt, ikm), info, length);
        const node = Buffer.from(hkdfSync(h, ikm, salt, info, length));
        expect(ours.toString("hex")).toBe(node.toString("hex"));
      }),
      { numRuns: 300 },
    );
  });

  it("is exactly one HMAC(PRK, info ‖ 0x01) for one block: the hot path the format documents", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<HkdfHash>("sha256", "sha512"),
        fc.uint8Array({ minLength: 32, maxLength: 64 }),
        fc.uint8Array({ maxLength: 200 }),
        (h, prk, info) => {
          const oneHmac = createHmac(h, prk)
            .update(Buffer.concat([info, Buffer.of(1)]))
            .digest();
          expect(hkdfExpand(h, prk, info, HASH_LENGTH[h]).equals(oneHmac)).toBe(true);
        },
      ),
    );
  });

  it.each([
    ["sha256", 255 * 32 + 1, 8160],
    ["sha512", 255 * 64 + 1, 16320],
    ["sha256", 0, 8160],
    ["sha256", -1, 8160],
    ["sha256", 1.5, 8160],
    ["sha512", Number.NaN, 16320],
  ] as const)("refuses %s with L = %d (RFC 5869: 1 ≤ L ≤ 255 × HashLen)", (hash, length, max) => {
    expectCryptoError(
      () => hkdfExpand(hash, Buffer.alloc(32, 1), Buffer.alloc(0), length),
      "INVALID_INPUT",
      `"length" expected an integer from 1 to ${max} (255 × HashLen), got ${length}`,
    );
  });
});
