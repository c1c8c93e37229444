import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  scryptSync,
  timingSafeEqual,
} from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { SealingVectors, StoreVector } from "../vectors/sealing-vectors.js";

// docs/sealing.md written out step by step with raw node:crypto calls, importing nothing
// from src/crypto. If this agrees with the vectors and the vectors agree with the code, the
// doc, the code and the vectors say the same thing; a client in another language follows
// exactly these steps.

const vectors = JSON.parse(
  readFileSync(new URL("../vectors/sealing-v1.json", import.meta.url), "utf8"),
) as SealingVectors;

const ascii = (s: string): Buffer => Buffer.from(s, "ascii");
const utf8 = (s: string): Buffer => Buffer.from(s, "utf8");
const unhex = (s: string): Buffer => Buffer.from(s, "hex");
const hkdf = (ikm: Buffer, salt: Buffer, info: Buffer, length: number): Buffer =>
  Buffer.from(hkdfSync("sha256", ikm, salt, info, length));
const hmac = (key: Buffer, data: Buffer): Buffer => createHmac("sha256", key).update(data).digest();
const hmacSha512 = (key: Buffer, data: Buffer): Buffer =>
  createHmac("sha512", key).update(data).digest();
const u8 = (n: number): Buffer => Buffer.of(n);
const zeroNonce = Buffer.alloc(12);

function gcm(key: Buffer, nonce: Buffer, aad: Buffer, plaintext: Buffer): Buffer {
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(aad);
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/** § Root key: N = 2^17, r = 8, p = 1, and the maxmem §4.1 tells node to pass. */
const SCRYPT_OPTIONS = { N: 131072, r: 8, p: 1, maxmem: 144 * 2 ** 20 };

/** § Root key. */
function specRoot(store: StoreVector): Buffer {
  const salt = Buffer.concat([
    ascii("hexclave/v1"),
    utf8(store.storeId),
    unhex(store.storeSaltHex),
  ]);
  const body = store.secret.slice(4);
  const generated =
    /^hxs_[A-Za-z0-9_-]{43}$/.test(store.secret) &&
    Buffer.from(body, "base64url").toString("base64url") === body;
  expect(generated).toBe(store.generated);
  if (generated) {
    const ikm = Buffer.from(body, "base64url");
    return hkdf(ikm, salt, ascii("hexclave/v1/generated-root"), 32);
  }
  return scryptSync(utf8(store.secret), salt, 32, SCRYPT_OPTIONS);
}

/** § Secrets: the acceptance rules, in the order the page lists them. */
function specSecretOutcome(secret: string): "ok" | "WEAK_SECRET" | "INVALID_INPUT" {
  if (Buffer.from(secret, "utf8").toString("utf8") !== secret) return "INVALID_INPUT"; // lone surrogate
  const ws = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]$/;
  const points = [...secret];
  if (ws.test(points[0] ?? "") || ws.test(points.at(-1) ?? "")) return "INVALID_INPUT";
  if (points.length < 16) return "WEAK_SECRET";
  if (new Set(points).size < 8) return "WEAK_SECRET";
  // The page's definition, literally: some p ≤ n/2 with every character equal to the one p before.
  for (let p = 1; p * 2 <= points.length; p++) {
    if (points.every((c, i) => i < p || c === points[i - p])) return "WEAK_SECRET";
  }
  return "ok";
}

/** § Frame and padding. */
function specFrame(
  kind: "text" | "bytes",
  writtenAtMs: number,
  keyName: string,
  value: Buffer,
): Buffer {
  const name = utf8(keyName);
  const writtenAt = Buffer.alloc(8);
  writtenAt.writeBigUInt64BE(BigInt(writtenAtMs));
  const nameLength = Buffer.alloc(2);
  nameLength.writeUInt16BE(name.length);
  const valueLength = Buffer.alloc(4);
  valueLength.writeUInt32BE(value.length);
  const used = 1 + 8 + 2 + name.length + 4 + value.length;
  const bucket =
    [256, 512, 1024, 2048, 4096].find((b) => used <= b) ?? Math.ceil(used / 4096) * 4096;
  return Buffer.concat([
    u8(kind === "text" ? 0x01 : 0x02),
    writtenAt,
    nameLength,
    name,
    valueLength,
    value,
    Buffer.alloc(bucket - used),
  ]);
}

interface SpecKeys {
  readonly root: Buffer;
  readonly kId: Buffer;
  readonly kSeal: Buffer;
  readonly fingerprint: Buffer;
}

/** § Store keys, derived once per store for the whole file (one scrypt is ≈0.7 s). */
const specKeysCache = new Map<StoreVector, SpecKeys>();
function specKeys(store: StoreVector): SpecKeys {
  let keys = specKeysCache.get(store);
  if (keys === undefined) {
    const root = specRoot(store);
    const none = Buffer.alloc(0);
    keys = {
      root,
      kId: hkdf(root, none, ascii("hexclave/v1/key-id"), 32),
      kSeal: hkdf(root, none, ascii("hexclave/v1/seal"), 32),
      fingerprint: hkdf(root, none, ascii("hexclave/v1/fingerprint"), 8),
    };
    specKeysCache.set(store, keys);
  }
  return keys;
}

const isPadded = (n: number): boolean =>
  [256, 512, 1024, 2048, 4096].includes(n) || (n > 4096 && n % 4096 === 0 && n <= 1_052_672);

type SpecOpened =
  | { step: 10; keyName: string; kind: "text" | "bytes"; writtenAt: number; value: Buffer }
  | { step: number };

/** § Opening an envelope: §8's steps in order; on failure, the number of the step that failed. */
function specOpen(keys: SpecKeys, storeId: string, keyId: Buffer, env: Buffer): SpecOpened {
  if (keyId.length !== 32) return { step: 1 };
  if (env.length < 345 || !isPadded(env.length - 89)) return { step: 2 };
  if (env[0] !== 0x01) return { step: 3 };
  if (!timingSafeEqual(env.subarray(1, 9), keys.fingerprint)) return { step: 4 };
  const info = Buffer.concat([ascii("hexclave/v1/message"), env.subarray(9, 41), keyId, u8(1)]);
  const okm = hmacSha512(keys.kSeal, info);
  if (!timingSafeEqual(env.subarray(41, 73), okm.subarray(32, 64))) return { step: 6 };
  const id = utf8(storeId);
  const aad = Buffer.concat([env.subarray(0, 73), u8(id.length), id, keyId]);
  let frame: Buffer;
  try {
    const decipher = createDecipheriv("aes-256-gcm", okm.subarray(0, 32), zeroNonce);
    decipher.setAAD(aad);
    decipher.setAuthTag(env.subarray(env.length - 16));
    frame = Buffer.concat([decipher.update(env.subarray(73, env.length - 16)), decipher.final()]);
  } catch {
    return { step: 7 };
  }
  const kind = frame[0];
  const writtenAt = frame.readBigUInt64BE(1);
  const nameLen = frame.readUInt16BE(9);
  if (kind !== 0x01 && kind !== 0x02) return { step: 8 };
  if (writtenAt > 8_640_000_000_000_000n) return { step: 8 };
  if (nameLen < 1 || nameLen > 1024 || 15 + nameLen > frame.length) return { step: 8 };
  const valueLen = frame.readUInt32BE(11 + nameLen);
  const used = 15 + nameLen + valueLen;
  if (valueLen > 1_048_576 || used > frame.length) return { step: 8 };
  const padded =
    [256, 512, 1024, 2048, 4096].find((b) => used <= b) ?? Math.ceil(used / 4096) * 4096;
  if (padded !== frame.length || frame.subarray(used).some((b) => b !== 0)) return { step: 8 };
  const name = frame.subarray(11, 11 + nameLen);
  const value = frame.subarray(15 + nameLen, used);
  const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let keyName: string;
  try {
    keyName = strict.decode(name);
    if (kind === 0x01) strict.decode(value);
  } catch {
    return { step: 8 };
  }
  if (!timingSafeEqual(hmac(keys.kId, name), keyId)) return { step: 9 };
  const sealedAs = kind === 0x01 ? "text" : "bytes";
  return { step: 10, keyName, kind: sealedAs, writtenAt: Number(writtenAt), value };
}

describe("docs/sealing.md, step by step, reproduces the vectors", () => {
  // Only the first two stores: one scrypt and one HKDF root keep this file fast.
  for (const store of vectors.stores.slice(0, 2)) {
    it(`derives and seals like the spec: ${store.comment}`, () => {
      const { root, kId, kSeal, fingerprint } = specKeys(store);
      expect(root.toString("hex")).toBe(store.rootHex);
      expect(kId.toString("hex")).toBe(store.kIdHex);
      expect(kSeal.toString("hex")).toBe(store.kSealHex);
      expect(fingerprint.toString("hex")).toBe(store.fingerprintHex);

      for (const m of store.messages) {
        const keyId = hmac(kId, utf8(m.keyName));
        expect(keyId.toString("hex")).toBe(m.keyIdHex);
        const salt = unhex(m.messageSaltHex);
        // HKDF-Expand-SHA512(k_seal, info, 64) is its first block alone: HMAC(info ‖ 0x01).
        const info = Buffer.concat([ascii("hexclave/v1/message"), salt, keyId]);
        expect(info.length).toBe(19 + 32 + 32);
        const okm = hmacSha512(kSeal, Buffer.concat([info, u8(0x01)]));
        const [encKey, commitment] = [okm.subarray(0, 32), okm.subarray(32, 64)];
        expect(encKey.toString("hex")).toBe(m.encKeyHex);
        expect(commitment.toString("hex")).toBe(m.commitmentHex);
        expect(m.nonceHex).toBe(zeroNonce.toString("hex"));
        const header = Buffer.concat([u8(0x01), fingerprint, salt, commitment]);
        expect(header.length).toBe(73);
        const storeId = utf8(store.storeId);
        const aad = Buffer.concat([header, u8(storeId.length), storeId, keyId]);
        expect(aad.toString("hex")).toBe(m.aadHex);
        const frame = specFrame(m.kind, m.writtenAtMs, m.keyName, unhex(m.valueHex));
        expect(frame.toString("hex")).toBe(m.frameHex);
        const envelope = Buffer.concat([header, gcm(encKey, zeroNonce, aad, frame)]);
        expect(envelope.toString("hex")).toBe(m.envelopeHex);
      }
    });

    it(`opens like the spec, back to name, kind, time and value: ${store.comment}`, () => {
      for (const m of store.messages) {
        const opened = specOpen(
          specKeys(store),
          store.storeId,
          unhex(m.keyIdHex),
          unhex(m.envelopeHex),
        );
        expect(opened).toEqual({
          step: 10,
          keyName: m.keyName,
          kind: m.kind,
          writtenAt: m.writtenAtMs,
          value: unhex(m.valueHex),
        });
      }
    });
  }

  it("refuses every must-not-open envelope at the step of §8 the vector names", () => {
    for (const v of vectors.mustNotOpen) {
      expect(v.storeIndex, "the spec derives keys for the first two stores only").toBeLessThan(2);
      const store = vectors.stores[v.storeIndex] as StoreVector;
      const opened = specOpen(
        specKeys(store),
        store.storeId,
        unhex(v.keyIdHex),
        unhex(v.envelopeHex),
      );
      expect({ mutation: v.mutation, step: opened.step }).toEqual({
        mutation: v.mutation,
        step: v.failsAtStep,
      });
    }
  });

  it("needs exactly the scrypt memory §4.1 states for OpenSSL (134,220,800 bytes)", () => {
    const exactly = { ...SCRYPT_OPTIONS, maxmem: 134_220_800 };
    expect(scryptSync("p", "s", 32, exactly)).toHaveLength(32);
    expect(() => scryptSync("p", "s", 32, { ...exactly, maxmem: 134_220_799 })).toThrow(
      /memory limit exceeded/,
    );
    // …which is why node's (and Python's) default limit of 32 MiB refuses it.
    expect(() => scryptSync("p", "s", 32, { N: 131072, r: 8, p: 1 })).toThrow(
      /memory limit exceeded/,
    );
  });

  it("accepts and refuses secrets like the spec, and tells generated ones apart", () => {
    for (const { secret, outcome } of vectors.secretRules) {
      expect({ secret, outcome: specSecretOutcome(secret) }).toEqual({ secret, outcome });
    }
    for (const { secret, generated } of vectors.generatedSecretDetection) {
      const body = secret.slice(4);
      const spec =
        /^hxs_[A-Za-z0-9_-]{43}$/.test(secret) &&
        Buffer.from(body, "base64url").toString("base64url") === body;
      expect({ secret, generated: spec }).toEqual({ secret, generated });
    }
  });

  it("wraps data keys and seals blobs at rest like the spec", () => {
    const { atRest } = vectors;
    const masterKey = unhex(atRest.masterKeyHex);
    const masterKeyId = hmac(masterKey, ascii("hexclave/v1/master-key-id")).subarray(0, 8);
    expect(masterKeyId.toString("hex")).toBe(atRest.masterKeyIdHex);
    const wrapKey = hmac(masterKey, ascii("hexclave/v1/wrap-key"));
    for (const w of atRest.wrap) {
      const id = utf8(w.storeId);
      const aad = Buffer.concat([
        ascii("hexclave/v1/wrap-data-key"),
        u8(0x01),
        u8(id.length),
        id,
        masterKeyId,
      ]);
      const iv = unhex(w.ivHex);
      const wrapped = Buffer.concat([u8(0x01), iv, gcm(wrapKey, iv, aad, unhex(w.dataKeyHex))]);
      expect(wrapped.toString("hex")).toBe(w.wrappedHex);
    }
    for (const b of atRest.blobs) {
      const salt = unhex(b.saltHex);
      // HKDF-Expand-SHA256(data_key, info, 32) is its first block alone: HMAC(info ‖ 0x01).
      const info = Buffer.concat([ascii("hexclave/v1/at-rest"), salt]);
      const key = hmac(unhex(atRest.dataKeyHex), Buffer.concat([info, u8(0x01)]));
      const id = utf8(b.storeId);
      const aad = Buffer.concat([u8(0x01), u8(id.length), id, unhex(b.keyIdHex)]);
      const sealed = gcm(key, zeroNonce, aad, unhex(b.blobHex));
      expect(Buffer.concat([u8(0x01), salt, sealed]).toString("hex")).toBe(b.storedHex);
    }
  });
});
