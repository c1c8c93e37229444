import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { computeKeyId } from "../../src/crypto/key-id.js";
import { open } from "../../src/crypto/open.js";
import { deriveRootKeySync } from "../../src/crypto/root-key.js";
import { seal } from "../../src/crypto/seal.js";
import { generateSecret } from "../../src/crypto/secret.js";
import {
  deriveStoreKeysSync,
  type StoreKeys,
  storeKeysFromRoot,
} from "../../src/crypto/store-keys.js";
import { expectOpenFails } from "./expect-crypto-error.js";

// The server holds every envelope and returns whichever it likes under whichever id. A valid
// envelope served for another key, another store, or to another secret must not open: else
// a hostile server could answer "alice's token?" with bob's.

describe("an envelope moved to another key, store or secret never opens", () => {
  const secret = generateSecret();
  const salt = randomBytes(32);
  let keys: StoreKeys;
  let envelope: Buffer;
  beforeAll(() => {
    keys = deriveStoreKeysSync(secret, "tokens", salt);
    envelope = seal(keys, "gh:alice", "alice's token");
  });

  it("opens in place (control)", () => {
    expect(open(keys, computeKeyId(keys, "gh:alice"), envelope).value.toString()).toBe(
      "alice's token",
    );
  });

  it("under another key's id in the same store", () => {
    expectOpenFails(() => open(keys, computeKeyId(keys, "gh:bob"), envelope));
  });

  it("in another store, same secret and same store salt", () => {
    const other = deriveStoreKeysSync(secret, "tokens-2", salt);
    expect(other.fingerprint.equals(keys.fingerprint)).toBe(false);
    expectOpenFails(() => open(other, computeKeyId(other, "gh:alice"), envelope));
  });

  it("in another store even with identical key bytes (the AAD's store id alone catches it)", () => {
    // Same root, so same k_id, k_seal and fingerprint; only StoreKeys.storeId differs. This
    // isolates the store id in the AAD from every other check.
    const root = deriveRootKeySync(secret, "tokens", salt);
    const twin = storeKeysFromRoot("tokens-2", root);
    expect(twin.fingerprint.equals(keys.fingerprint)).toBe(true);
    expect(computeKeyId(twin, "gh:alice").equals(computeKeyId(keys, "gh:alice"))).toBe(true);
    expectOpenFails(() => open(twin, computeKeyId(twin, "gh:alice"), envelope));
  });

  it("in the same store recreated with a new salt", () => {
    const recreated = deriveStoreKeysSync(secret, "tokens", randomBytes(32));
    expectOpenFails(() => open(recreated, computeKeyId(recreated, "gh:alice"), envelope));
  });

  it("with another secret on the same store", () => {
    const stranger = deriveStoreKeysSync(generateSecret(), "tokens", salt);
    expectOpenFails(() => open(stranger, computeKeyId(keys, "gh:alice"), envelope));
    expectOpenFails(() => open(stranger, computeKeyId(stranger, "gh:alice"), envelope));
  });

  it("gives unrelated key ids for the same key name in two stores", () => {
    const other = deriveStoreKeysSync(secret, "tokens-2", salt);
    expect(computeKeyId(other, "gh:alice").equals(computeKeyId(keys, "gh:alice"))).toBe(false);
  });
});
