import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { computeKeyId } from "../../src/crypto/key-id.js";
import { envelopeFingerprint, open } from "../../src/crypto/open.js";
import { seal } from "../../src/crypto/seal.js";
import { generateSecret } from "../../src/crypto/secret.js";
import { deriveStoreKeysSync, type StoreKeys } from "../../src/crypto/store-keys.js";
import { expectOpenFails } from "./expect-crypto-error.js";

// Whoever stores or carries an envelope (the server, a backup, the network) can change any
// byte of it. Every change must make open fail, and fail with the same message whatever
// step caught it, so failures teach an attacker nothing.

describe("a tampered envelope never opens", () => {
  let keys: StoreKeys;
  let keyId: Buffer;
  let small: Buffer;
  let large: Buffer;
  beforeAll(() => {
    keys = deriveStoreKeysSync(generateSecret(), "tamper", randomBytes(32));
    keyId = computeKeyId(keys, "gh:42");
    small = seal(keys, "gh:42", "gho_16C7e42F292c6912E7710c838347Ae178B4a");
    large = seal(keys, "gh:42", randomBytes(9000));
  });

  const flip = (envelope: Buffer, bit: number): Buffer => {
    const copy = Buffer.from(envelope);
    copy[bit >> 3]! ^= 1 << (bit & 7);
    return copy;
  };

  it("for every single-bit flip of a small envelope (exhaustive)", () => {
    for (let bit = 0; bit < small.length * 8; bit++) {
      expectOpenFails(() => open(keys, keyId, flip(small, bit)));
    }
  });

  it("for any single-bit flip of a multi-page envelope", () => {
    fc.assert(
      fc.property(fc.nat({ max: large.length * 8 - 1 }), (bit) => {
        expectOpenFails(() => open(keys, keyId, flip(large, bit)));
      }),
      { numRuns: 300 },
    );
  });

  it("for any flip of the key id it is opened under", () => {
    for (let bit = 0; bit < keyId.length * 8; bit++) {
      expectOpenFails(() => open(keys, flip(keyId, bit), small));
    }
  });

  it("when truncated to any shorter length", () => {
    for (let length = 0; length < small.length; length++) {
      expectOpenFails(() => open(keys, keyId, small.subarray(0, length)));
    }
    fc.assert(
      fc.property(fc.nat({ max: large.length - 1 }), (length) => {
        expectOpenFails(() => open(keys, keyId, large.subarray(0, length)));
      }),
    );
  });

  it("when extended by any bytes, including a whole bucket's worth (a valid-looking length)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 600 }), (extra) => {
        expectOpenFails(() => open(keys, keyId, Buffer.concat([small, extra])));
      }),
    );
    expectOpenFails(() => open(keys, keyId, Buffer.concat([small, Buffer.alloc(256)])));
    expectOpenFails(() => open(keys, keyId, Buffer.concat([large, Buffer.alloc(4096)])));
  });

  it("when it is random bytes of a plausible length under the right fingerprint and version", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 345 - 9, maxLength: 345 - 9 }), (rest) => {
        const forged = Buffer.concat([small.subarray(0, 9), rest]);
        expect(envelopeFingerprint(forged)?.equals(keys.fingerprint)).toBe(true);
        expectOpenFails(() => open(keys, keyId, forged));
      }),
    );
  });

  it("when the key id is not 32 bytes (from a confused or hostile server)", () => {
    expectOpenFails(() => open(keys, keyId.subarray(0, 31), small));
    expectOpenFails(() => open(keys, Buffer.concat([keyId, Buffer.of(0)]), small));
    expectOpenFails(() => open(keys, Buffer.alloc(0), small));
  });
});
