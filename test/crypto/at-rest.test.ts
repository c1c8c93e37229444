import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AT_REST_OVERHEAD,
  generateDataKey,
  masterKeyId,
  openAtRest,
  sealAtRest,
  unwrapDataKey,
  WRAPPED_DATA_KEY_LENGTH,
  wrapDataKey,
} from "../../src/crypto/at-rest.js";
import { expectOpenFails } from "./expect-crypto-error.js";

// The server's own layer: a stolen disk or backup without the master key yields nothing, a
// row moved to another store or key id does not decrypt, and a wrapped data key only opens
// for its store under its master key.

const flip = (bytes: Buffer, bit: number): Buffer => {
  const copy = Buffer.from(bytes);
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
};

describe("data key wrapping", () => {
  const masterKey = randomBytes(32);
  const dataKey = generateDataKey();

  it("round-trips, and wraps the same key differently each time (random IV)", () => {
    const a = wrapDataKey(masterKey, "tokens", dataKey);
    const b = wrapDataKey(masterKey, "tokens", dataKey);
    expect(a).toHaveLength(WRAPPED_DATA_KEY_LENGTH);
    expect(a.equals(b)).toBe(false);
    expect(unwrapDataKey(masterKey, "tokens", a).equals(dataKey)).toBe(true);
  });

  it("does not unwrap for another store, another master key, or after any bit flip", () => {
    const wrapped = wrapDataKey(masterKey, "tokens", dataKey);
    expectOpenFails(() => unwrapDataKey(masterKey, "tokens-2", wrapped));
    expectOpenFails(() => unwrapDataKey(randomBytes(32), "tokens", wrapped));
    for (let bit = 0; bit < wrapped.length * 8; bit++) {
      expectOpenFails(() => unwrapDataKey(masterKey, "tokens", flip(wrapped, bit)));
    }
    expectOpenFails(() => unwrapDataKey(masterKey, "tokens", wrapped.subarray(1)));
    expectOpenFails(() =>
      unwrapDataKey(masterKey, "tokens", Buffer.concat([wrapped, Buffer.of(0)])),
    );
  });

  it("identifies master keys by an 8-byte id that is stable and distinct", () => {
    expect(masterKeyId(masterKey)).toHaveLength(8);
    expect(masterKeyId(masterKey).equals(masterKeyId(Buffer.from(masterKey)))).toBe(true);
    expect(masterKeyId(masterKey).equals(masterKeyId(randomBytes(32)))).toBe(false);
  });
});

describe("blobs at rest", () => {
  const dataKey = generateDataKey();
  const keyId = randomBytes(32);

  it("round-trips any blob and adds exactly AT_REST_OVERHEAD bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (blob) => {
        const stored = sealAtRest(dataKey, "tokens", keyId, blob);
        expect(stored).toHaveLength(blob.length + AT_REST_OVERHEAD);
        expect(openAtRest(dataKey, "tokens", keyId, stored).equals(blob)).toBe(true);
      }),
    );
  });

  it("does not open under another key id, store or data key", () => {
    const stored = sealAtRest(dataKey, "tokens", keyId, randomBytes(200));
    expectOpenFails(() => openAtRest(dataKey, "tokens", randomBytes(32), stored));
    expectOpenFails(() => openAtRest(dataKey, "tokens-2", keyId, stored));
    expectOpenFails(() => openAtRest(generateDataKey(), "tokens", keyId, stored));
  });

  it("does not open after any bit flip, truncation or extension", () => {
    const stored = sealAtRest(dataKey, "tokens", keyId, randomBytes(64));
    for (let bit = 0; bit < stored.length * 8; bit++) {
      expectOpenFails(() => openAtRest(dataKey, "tokens", keyId, flip(stored, bit)));
    }
    for (let length = 0; length < stored.length; length++) {
      expectOpenFails(() => openAtRest(dataKey, "tokens", keyId, stored.subarray(0, length)));
    }
    expectOpenFails(() =>
      openAtRest(dataKey, "tokens", keyId, Buffer.concat([stored, Buffer.of(0)])),
    );
  });

  it("never reuses a GCM key: the same blob seals differently every time", () => {
    const blob = randomBytes(100);
    const seen = new Set(
      Array.from({ length: 200 }, () => sealAtRest(dataKey, "tokens", keyId, blob).toString("hex")),
    );
    expect(seen.size).toBe(200);
  });
});
