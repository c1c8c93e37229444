import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_KEY_NAME_BYTES, MAX_VALUE_BYTES } from "../../src/crypto/format-v1.js";
import { computeKeyId } from "../../src/crypto/key-id.js";
import { open } from "../../src/crypto/open.js";
import { seal } from "../../src/crypto/seal.js";
import { generateSecret } from "../../src/crypto/secret.js";
import { deriveStoreKeysSync, type StoreKeys } from "../../src/crypto/store-keys.js";

// Full Unicode (astral planes included, no lone surrogates): 256 code points are at most
// 1,024 UTF-8 bytes, the key-name limit.
const keyName = fc.string({ unit: "binary", minLength: 1, maxLength: 256 });
const value = fc.oneof(
  fc.string({ unit: "binary", maxLength: 600 }),
  fc.uint8Array({ maxLength: 5000 }),
);

describe("seal then open gives back exactly what was sealed", () => {
  let keys: StoreKeys;
  beforeAll(() => {
    keys = deriveStoreKeysSync(generateSecret(), "round-trip", randomBytes(32));
  });

  function roundTrip(name: string, sealed: string | Uint8Array): void {
    const opened = open(keys, computeKeyId(keys, name), seal(keys, name, sealed));
    expect(opened.keyName).toBe(name);
    if (typeof sealed === "string") {
      expect(opened.kind).toBe("text");
      expect(opened.value.toString("utf8")).toBe(sealed);
    } else {
      expect(opened.kind).toBe("bytes");
      expect(opened.value.equals(sealed)).toBe(true);
    }
  }

  it("for any key name and any string or bytes value", () => {
    fc.assert(
      fc.property(keyName, value, (name, v) => {
        expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_KEY_NAME_BYTES);
        roundTrip(name, v);
      }),
      { numRuns: 300 },
    );
  });

  it("at the limits: a 1,024-byte key name and a 1 MiB value, as text and as bytes", () => {
    const longest = "é".repeat(MAX_KEY_NAME_BYTES / 2);
    expect(Buffer.byteLength(longest)).toBe(MAX_KEY_NAME_BYTES);
    roundTrip(longest, "x");
    roundTrip("k", randomBytes(MAX_VALUE_BYTES));
    roundTrip("k", `${"€".repeat((MAX_VALUE_BYTES - 1) / 3)}a`);
  });

  it("keeps what UTF-8 decoders like to drop or change: a leading BOM, NULs, empty values", () => {
    roundTrip("\uFEFFbom-name", "\uFEFFbom value");
    roundTrip("nul\0name", "a\0b\0");
    roundTrip("empty-text", "");
    roundTrip("empty-bytes", new Uint8Array(0));
  });

  it("carries the write time: now by default, or the one given (re-sealing keeps the original)", () => {
    const id = computeKeyId(keys, "when");
    const before = Date.now();
    const now = open(keys, id, seal(keys, "when", "v")).writtenAt;
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8.64e15 }), (t) => {
        expect(open(keys, id, seal(keys, "when", "v", t)).writtenAt).toBe(t);
      }),
      { numRuns: 200 },
    );
  });

  it("seals the same value differently every time (fresh salt inside seal)", () => {
    const a = seal(keys, "same", "same value");
    const b = seal(keys, "same", "same value");
    expect(a.equals(b)).toBe(false);
    expect(a.length).toBe(b.length);
  });

  it("opens an envelope held in a plain Uint8Array view, not just a Buffer", () => {
    const envelope = seal(keys, "view", "value");
    const copy = new Uint8Array(envelope.length + 8).subarray(4, 4 + envelope.length);
    copy.set(envelope);
    const id = new Uint8Array(computeKeyId(keys, "view"));
    expect(open(keys, id, copy).value.toString()).toBe("value");
  });
});
