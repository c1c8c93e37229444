import { readFileSync, writeFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { masterKeyId, openAtRest, unwrapDataKey } from "../../src/crypto/at-rest.js";
import { DECRYPTION_FAILED_MESSAGE } from "../../src/crypto/crypto-error.js";
import { MAX_WRITTEN_AT_MS } from "../../src/crypto/format-v1.js";
import { envelopeFingerprint, open } from "../../src/crypto/open.js";
import { deriveRootKeySync } from "../../src/crypto/root-key.js";
import { type StoreKeys, storeKeysFromRoot } from "../../src/crypto/store-keys.js";
import { vectorInputs } from "../vectors/sealing-vector-inputs.js";
import {
  computeVectors,
  type SealingVectors,
  type StoreVector,
  serializeVectors,
  withoutOutputs,
} from "../vectors/sealing-vectors.js";

// The published vectors are the contract other-language clients are written against: the code
// must reproduce them byte for byte, open them, and agree with docs/sealing.md spelled out with
// raw node:crypto calls below.

const FILE = new URL("../vectors/sealing-v1.json", import.meta.url);
if (process.env.HEXCLAVE_WRITE_VECTORS === "1") {
  writeFileSync(FILE, serializeVectors(computeVectors(vectorInputs())));
}
const vectors = JSON.parse(readFileSync(FILE, "utf8")) as SealingVectors;
const unhex = (text: string): Buffer => Buffer.from(text, "hex");

describe("sealing-v1.json", () => {
  const keysByStore = new Map<StoreVector, StoreKeys>();
  beforeAll(() => {
    for (const store of vectors.stores) {
      const root = deriveRootKeySync(store.secret, store.storeId, unhex(store.storeSaltHex));
      keysByStore.set(store, storeKeysFromRoot(store.storeId, root));
    }
  });

  it("covers what it promises: both secret kinds, text and bytes, empty and > 4096-byte values, both ends of the write time", () => {
    const messages = vectors.stores.flatMap((s) => s.messages);
    expect(messages.map((m) => m.writtenAtMs)).toContain(0);
    expect(messages.map((m) => m.writtenAtMs)).toContain(MAX_WRITTEN_AT_MS);
    expect(vectors.stores.map((s) => s.generated)).toContain(true);
    expect(vectors.stores.map((s) => s.generated)).toContain(false);
    expect(new Set(messages.map((m) => m.kind))).toEqual(new Set(["text", "bytes"]));
    expect(messages.some((m) => m.valueHex === "")).toBe(true);
    expect(messages.some((m) => m.valueHex.length / 2 > 4096)).toBe(true);
  });

  it("keeps the inputs the generator defines (the file was not edited by hand)", () => {
    expect(withoutOutputs(vectors)).toEqual(withoutOutputs(vectorInputs()));
  });

  it("is exactly what the generator writes (no hand edits, invisible characters escaped)", () => {
    expect(readFileSync(FILE, "utf8")).toBe(serializeVectors(vectors));
  });

  it("recomputes every output byte for byte from the file's inputs", () => {
    expect(computeVectors(vectors)).toEqual(vectors);
  });

  it("opens every envelope back to its exact key name, kind and value", () => {
    for (const store of vectors.stores) {
      const keys = keysByStore.get(store)!;
      expect(keys.fingerprint.toString("hex")).toBe(store.fingerprintHex);
      for (const m of store.messages) {
        const envelope = unhex(m.envelopeHex);
        expect(envelopeFingerprint(envelope)?.toString("hex")).toBe(store.fingerprintHex);
        const opened = open(keys, unhex(m.keyIdHex), envelope);
        expect(opened.keyName).toBe(m.keyName);
        expect(opened.kind).toBe(m.kind);
        expect(opened.writtenAt).toBe(m.writtenAtMs);
        expect(opened.value.toString("hex")).toBe(m.valueHex);
        if (m.kind === "text") expect(opened.value.toString("utf8")).toBe(m.valueText);
      }
    }
  });

  it("refuses every must-not-open envelope with the one fixed error", () => {
    expect(vectors.mustNotOpen.length).toBeGreaterThanOrEqual(30);
    for (const v of vectors.mustNotOpen) {
      const keys = keysByStore.get(vectors.stores[v.storeIndex] as StoreVector) as StoreKeys;
      let thrown: unknown;
      try {
        open(keys, unhex(v.keyIdHex), unhex(v.envelopeHex));
      } catch (err) {
        thrown = err;
      }
      const err = thrown as { name?: unknown; code?: unknown; message?: unknown } | undefined;
      expect({
        mutation: v.mutation,
        name: err?.name,
        code: err?.code,
        message: err?.message,
      }).toEqual({
        mutation: v.mutation,
        name: "CryptoError",
        code: "DECRYPTION_FAILED",
        message: DECRYPTION_FAILED_MESSAGE,
      });
    }
  });

  it("has a must-not-open envelope for every step of §8 that can refuse one", () => {
    // Step 5 derives keys and cannot fail; step 10 returns.
    const steps = new Set(vectors.mustNotOpen.map((v) => v.failsAtStep));
    expect([...steps].sort()).toEqual([1, 2, 3, 4, 6, 7, 8, 9]);
  });

  it("opens the at-rest vectors back to the data key and blobs", () => {
    const { atRest } = vectors;
    const masterKey = unhex(atRest.masterKeyHex);
    expect(masterKeyId(masterKey).toString("hex")).toBe(atRest.masterKeyIdHex);
    for (const w of atRest.wrap) {
      expect(unwrapDataKey(masterKey, w.storeId, unhex(w.wrappedHex)).toString("hex")).toBe(
        w.dataKeyHex,
      );
    }
    for (const b of atRest.blobs) {
      const blob = openAtRest(
        unhex(atRest.dataKeyHex),
        b.storeId,
        unhex(b.keyIdHex),
        unhex(b.storedHex),
      );
      expect(blob.toString("hex")).toBe(b.blobHex);
    }
  });
});
