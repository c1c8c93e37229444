import { randomBytes } from "node:crypto";
import { inspect } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { computeKeyId } from "../../src/crypto/key-id.js";
import { open } from "../../src/crypto/open.js";
import { seal } from "../../src/crypto/seal.js";
import { generateSecret } from "../../src/crypto/secret.js";
import {
  deriveStoreKeys,
  deriveStoreKeysSync,
  type StoreKeys,
  storeKeyMaterial,
} from "../../src/crypto/store-keys.js";
import { expectCryptoError } from "./expect-crypto-error.js";

// StoreKeys end up in caches, error reports and debug logs. Nothing reachable from the
// object by serializing or inspecting it may carry key bytes.

const ORDINARY = "correct horse battery staple";

describe("StoreKeys", () => {
  const salt = randomBytes(32);
  let keys: StoreKeys;
  let secretHexes: string[];
  beforeAll(async () => {
    keys = await deriveStoreKeys(ORDINARY, "leaks", salt); // the one scrypt in this file
    const { kId, kSeal } = storeKeyMaterial(keys);
    secretHexes = [kId.toString("hex"), kSeal.toString("hex")];
  });

  const leaks = (text: string) =>
    secretHexes.some((hex) => {
      const bytes = Buffer.from(hex, "hex");
      return (
        text.includes(hex) ||
        text.includes(bytes.toString("base64")) ||
        text.includes([...bytes.subarray(0, 8)].join(",")) ||
        text.includes([...bytes.subarray(0, 8)].join(", "))
      );
    });

  it("shows only the store id and fingerprint to JSON.stringify", () => {
    const json = JSON.stringify(keys);
    expect(Object.keys(JSON.parse(json))).toEqual(["storeId", "fingerprint"]);
    expect(leaks(json)).toBe(false);
  });

  it("shows no key bytes to util.inspect, even with showHidden", () => {
    for (const text of [
      inspect(keys),
      inspect(keys, { showHidden: true, depth: Infinity, customInspect: false }),
    ]) {
      expect(text).toContain("leaks");
      expect(leaks(text)).toBe(false);
    }
    expect(Object.getOwnPropertyNames(keys).sort()).toEqual(["fingerprint", "storeId"]);
    expect(Object.getOwnPropertySymbols(keys)).toEqual([]);
  });

  it("cannot be altered through its public fingerprint or properties", () => {
    const copy = deriveStoreKeysSync(generateSecret(), "leaks", salt);
    const envelope = seal(copy, "k", "v");
    copy.fingerprint.fill(0);
    expect(open(copy, computeKeyId(copy, "k"), envelope).value.toString()).toBe("v");
    expect(() => {
      (copy as { storeId: string }).storeId = "other";
    }).toThrow(TypeError);
  });

  it("zero-fills the key bytes on destroy() and refuses to be used after", () => {
    const doomed = deriveStoreKeysSync(generateSecret(), "leaks", salt);
    const { kId, kSeal } = storeKeyMaterial(doomed);
    doomed.destroy();
    doomed.destroy(); // idempotent
    expect(doomed.destroyed).toBe(true);
    expect(kId.every((b) => b === 0) && kSeal.every((b) => b === 0)).toBe(true);
    const message = '"keys" expected StoreKeys from deriveStoreKeys() that have not been destroyed';
    expectCryptoError(() => seal(doomed, "k", "v"), "INVALID_INPUT", message);
    expectCryptoError(() => computeKeyId(doomed, "k"), "INVALID_INPUT", message);
  });

  it("derives the same keys synchronously and asynchronously", () => {
    const sync = deriveStoreKeysSync(ORDINARY, "leaks", salt);
    expect(sync.fingerprint.equals(keys.fingerprint)).toBe(true);
    expect(computeKeyId(sync, "k").equals(computeKeyId(keys, "k"))).toBe(true);
  });

  it("derives off the event loop: a setImmediate fires before scrypt finishes", async () => {
    const derived = deriveStoreKeys(`${ORDINARY}!`, "leaks", salt).then(() => "derived");
    const tick = new Promise((resolve) => setImmediate(() => resolve("tick")));
    expect(await Promise.race([derived, tick])).toBe("tick");
    await derived;
  });
});
