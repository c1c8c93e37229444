import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { FRAME_FIXED_LENGTH, isPaddedLength, paddedLength } from "../../src/crypto/format-v1.js";
import { sealedLength } from "../../src/crypto/frame.js";
import { seal } from "../../src/crypto/seal.js";
import { generateSecret } from "../../src/crypto/secret.js";
import { deriveStoreKeysSync, type StoreKeys } from "../../src/crypto/store-keys.js";

// The server sees envelope sizes. Unpadded, a 40-character GitHub token and a 100-character
// Google refresh token would tell it which provider each user linked.

describe("envelope sizes reveal only a bucket, not a length", () => {
  let keys: StoreKeys;
  beforeAll(() => {
    keys = deriveStoreKeysSync(generateSecret(), "padding", randomBytes(32));
  });

  it("gives a GitHub token and a Google refresh token the same envelope size", () => {
    const github = seal(keys, "gh:1234567", `gho_${"A".repeat(36)}`);
    const google = seal(keys, "google:1234567", `1//0${"B".repeat(96)}`);
    expect(github.length).toBe(google.length);
    expect(github.length).toBe(73 + 256 + 16);
  });

  it("pads to exactly the documented buckets", () => {
    const cases: [number, number][] = [
      [8, 256],
      [256, 256],
      [257, 512],
      [4096, 4096],
      [4097, 8192],
      [8193, 12288],
    ];
    for (const [frame, padded] of cases) expect(paddedLength(frame)).toBe(padded);
  });

  it("makes every envelope length sealedLength(), and equal within a bucket", () => {
    const name = fc.string({ unit: "binary", minLength: 1, maxLength: 64 });
    const value = fc.oneof(
      fc.string({ unit: "binary", maxLength: 2000 }),
      fc.uint8Array({ maxLength: 10_000 }),
    );
    fc.assert(
      fc.property(name, value, name, value, (n1, v1, n2, v2) => {
        const bytes = (v: string | Uint8Array) =>
          typeof v === "string" ? Buffer.byteLength(v) : v.length;
        const frame = (n: string, v: string | Uint8Array) =>
          FRAME_FIXED_LENGTH + Buffer.byteLength(n) + bytes(v);
        const e1 = seal(keys, n1, v1);
        const e2 = seal(keys, n2, v2);
        expect(e1.length).toBe(sealedLength(Buffer.byteLength(n1), bytes(v1)));
        expect(isPaddedLength(e1.length - 73 - 16)).toBe(true);
        const sameBucket = paddedLength(frame(n1, v1)) === paddedLength(frame(n2, v2));
        expect(e1.length === e2.length).toBe(sameBucket);
      }),
      { numRuns: 200 },
    );
  });
});
