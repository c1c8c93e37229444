import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  FRAME_NAME_LENGTH_OFFSET,
  FRAME_NAME_OFFSET,
  FRAME_WRITTEN_AT_OFFSET,
  HEADER_LENGTH,
  KIND_BYTES,
  KIND_TEXT,
  MAX_WRITTEN_AT_MS,
  TAG_LENGTH,
  ZERO_NONCE,
} from "../../src/crypto/format-v1.js";
import { encodeFrame } from "../../src/crypto/frame.js";
import { computeKeyId } from "../../src/crypto/key-id.js";
import { additionalData, deriveMessageKeys } from "../../src/crypto/message-keys.js";
import { open } from "../../src/crypto/open.js";
import { gcmEncryptInto } from "../../src/crypto/primitives.js";
import { generateSecret } from "../../src/crypto/secret.js";
import {
  deriveStoreKeysSync,
  type StoreKeys,
  storeKeyMaterial,
} from "../../src/crypto/store-keys.js";
import { expectOpenFails } from "./expect-crypto-error.js";

// Bit flips never get past the GCM tag, so they cannot reach the frame checks. These
// envelopes are encrypted correctly around a frame that seal would never write: what a buggy
// or hostile client holding the same secret could store. Open must still refuse each one,
// with the same message.

describe("a correctly encrypted but malformed frame never opens", () => {
  let keys: StoreKeys;
  beforeAll(() => {
    keys = deriveStoreKeysSync(generateSecret(), "frames", randomBytes(32));
  });

  /** Seals an arbitrary plaintext exactly as seal does, under `keyId`. */
  function sealFrame(keyId: Buffer, frame: Buffer, commitment?: Buffer): Buffer {
    const { kSeal, fingerprint } = storeKeyMaterial(keys);
    const salt = randomBytes(32);
    const mk = deriveMessageKeys(kSeal, salt, keyId);
    const header = Buffer.concat([Buffer.of(1), fingerprint, salt, commitment ?? mk.commitment]);
    expect(header.length).toBe(HEADER_LENGTH);
    const aad = additionalData(header, keys.storeId, keyId);
    const envelope = Buffer.concat([header, Buffer.alloc(frame.length + TAG_LENGTH)]);
    gcmEncryptInto(mk.encKey, ZERO_NONCE, aad, frame, envelope, HEADER_LENGTH);
    return envelope;
  }

  const name = Buffer.from("gh:42");
  const writtenAt = 1_767_225_600_000;
  const unhexValue = (hex: string): Buffer => Buffer.from(hex, "hex");
  const frameOf = (value: string | Buffer, kind = KIND_TEXT): Buffer =>
    encodeFrame(kind, writtenAt, name, typeof value === "string" ? Buffer.from(value) : value);
  const valueLengthAt = FRAME_NAME_OFFSET + name.length;

  it("opens the well-formed control frame (so the cases below fail for their own reason)", () => {
    const id = computeKeyId(keys, "gh:42");
    const opened = open(keys, id, sealFrame(id, frameOf("token")));
    expect(opened.value.toString()).toBe("token");
    expect(opened.writtenAt).toBe(writtenAt);
  });

  it("opens the latest write time a frame may carry, exactly", () => {
    const id = computeKeyId(keys, "gh:42");
    const frame = frameOf("token");
    frame.writeBigUInt64BE(BigInt(MAX_WRITTEN_AT_MS), FRAME_WRITTEN_AT_OFFSET);
    expect(open(keys, id, sealFrame(id, frame)).writtenAt).toBe(MAX_WRITTEN_AT_MS);
  });

  // Each case corrupts the control frame in place, or returns a replacement frame.
  const cases: [string, (frame: Buffer) => Buffer | undefined][] = [
    ["a non-zero padding byte", (f) => void f.writeUInt8(1, f.length - 1)],
    ["an unknown kind byte", (f) => void f.writeUInt8(3, 0)],
    ["kind byte 0", (f) => void f.writeUInt8(0, 0)],
    [
      "a write time one millisecond past what a Date can hold",
      (f) => void f.writeBigUInt64BE(BigInt(MAX_WRITTEN_AT_MS) + 1n, FRAME_WRITTEN_AT_OFFSET),
    ],
    [
      "a write time with the top bit set (negative if read as signed)",
      (f) => void f.writeBigUInt64BE(2n ** 63n, FRAME_WRITTEN_AT_OFFSET),
    ],
    ["a zero-length key name", (f) => void f.writeUInt16BE(0, FRAME_NAME_LENGTH_OFFSET)],
    [
      "a key name length past the frame",
      (f) => void f.writeUInt16BE(1000, FRAME_NAME_LENGTH_OFFSET),
    ],
    ["a value length past the frame", (f) => void f.writeUInt32BE(300, valueLengthAt)],
    ["a value length over 1 MiB", (f) => void f.writeUInt32BE(0xffffffff, valueLengthAt)],
    ["padding to a bigger bucket than needed", (f) => Buffer.concat([f, Buffer.alloc(256)])],
    ["padding to a size that is no bucket", (f) => Buffer.concat([f, Buffer.alloc(16)])],
    ["invalid UTF-8 in a text value", (f) => void f.writeUInt8(0xff, valueLengthAt + 4)],
  ];
  for (const [what, corrupt] of cases) {
    it(`with ${what}`, () => {
      const id = computeKeyId(keys, "gh:42");
      const frame = frameOf("token");
      const corrupted = corrupt(frame) ?? frame;
      expectOpenFails(() => open(keys, id, sealFrame(id, corrupted)));
    });
  }

  it("with invalid UTF-8 in the key name", () => {
    const badName = Buffer.from([0x67, 0xc3, 0x28]);
    const id = Buffer.from(computeKeyId(keys, "x")); // any id: the name check comes last
    const frame = encodeFrame(KIND_BYTES, writtenAt, badName, name);
    expectOpenFails(() => open(keys, id, sealFrame(id, frame)));
  });

  it("when the sealed key name is not the one the key id was computed from", () => {
    // A client with the secret seals "gh:other"'s value under "gh:42"'s id. Commitment, tag
    // and frame all check out; only the final name-to-id check can catch the swap.
    const id = computeKeyId(keys, "gh:42");
    const frame = encodeFrame(KIND_TEXT, writtenAt, Buffer.from("gh:other"), Buffer.from("token"));
    expectOpenFails(() => open(keys, id, sealFrame(id, frame)));
  });

  it("with a wrong key commitment, even when the GCM tag was computed over it", () => {
    // The tag alone would accept this envelope; only the commitment check refuses it. That
    // check is what stops one ciphertext being crafted to open under several keys.
    const id = computeKeyId(keys, "gh:42");
    expectOpenFails(() => open(keys, id, sealFrame(id, frameOf("token"), randomBytes(32))));
  });

  it("opens a text value exactly when it is well-formed UTF-8, as a strict decoder judges it", () => {
    // Overlong forms, encoded surrogates, code points past U+10FFFF, truncated sequences: a
    // text value another client would refuse to decode must not open here either.
    const strict = new TextDecoder("utf-8", { fatal: true });
    const isStrictUtf8 = (bytes: Uint8Array): boolean => {
      try {
        strict.decode(bytes);
        return true;
      } catch {
        return false;
      }
    };
    const id = computeKeyId(keys, "gh:42");
    const utf8Bytes = fc.string({ unit: "binary", maxLength: 8 }).map((t) => Buffer.from(t));
    const mutated = fc
      .tuple(utf8Bytes, fc.nat(), fc.integer({ min: 0x80, max: 0xff }))
      .map(([bytes, at, byte]) => {
        if (bytes.length > 0) bytes[at % bytes.length] = byte;
        return bytes;
      });
    const value = fc.oneof(utf8Bytes, mutated, fc.uint8Array({ maxLength: 6 }));
    fc.assert(
      fc.property(value, (bytes) => {
        const envelope = sealFrame(id, frameOf(Buffer.from(bytes), KIND_TEXT));
        if (isStrictUtf8(bytes)) expect(open(keys, id, envelope).value.equals(bytes)).toBe(true);
        else expectOpenFails(() => open(keys, id, envelope));
      }),
      { numRuns: 500 },
    );
    for (const bad of ["c0af", "eda080", "f4908080", "e282"]) {
      expectOpenFails(() => open(keys, id, sealFrame(id, frameOf(unhexValue(bad), KIND_TEXT))));
    }
  });

  it("accepts invalid UTF-8 in a bytes value (bytes are bytes)", () => {
    const id = computeKeyId(keys, "gh:42");
    const opened = open(keys, id, sealFrame(id, frameOf(Buffer.of(0xff, 0xfe), KIND_BYTES)));
    expect(opened.value).toEqual(Buffer.of(0xff, 0xfe));
  });
});
