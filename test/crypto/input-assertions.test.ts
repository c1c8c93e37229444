import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import {
  masterKeyId,
  openAtRest,
  sealAtRest,
  sealAtRestWithSalt,
  unwrapDataKey,
  wrapDataKey,
  wrapDataKeyWithIv,
} from "../../src/crypto/at-rest.js";
import { computeKeyId } from "../../src/crypto/key-id.js";
import { open } from "../../src/crypto/open.js";
import { seal, sealWithSalt } from "../../src/crypto/seal.js";
import { generateSecret } from "../../src/crypto/secret.js";
import {
  deriveStoreKeys,
  deriveStoreKeysSync,
  type StoreKeys,
} from "../../src/crypto/store-keys.js";
import { expectCryptoError } from "./expect-crypto-error.js";

// Every bad argument is refused before any work, with a message that names the argument and
// says what was expected and what came: the caller fixes it from the message alone.

const STORE_ID_RULE =
  '"storeId" must be 1 to 63 characters of a-z, 0-9, "_" and "-", starting with a letter or digit (^[a-z0-9][a-z0-9_-]{0,62}$), got';

describe("input assertions", () => {
  let keys: StoreKeys;
  const key32 = randomBytes(32);
  const keyId = randomBytes(32);
  beforeAll(() => {
    keys = deriveStoreKeysSync(generateSecret(), "assertions", randomBytes(32));
  });

  const table: [string, () => unknown, string][] = [
    // deriveStoreKeysSync: store id and salt (secrets have their own file).
    [
      "upper-case store id",
      () => deriveStoreKeysSync(generateSecret(), "Tokens", key32),
      `${STORE_ID_RULE} "Tokens"`,
    ],
    [
      "empty store id",
      () => deriveStoreKeysSync(generateSecret(), "", key32),
      `${STORE_ID_RULE} ""`,
    ],
    [
      "store id starting with -",
      () => deriveStoreKeysSync(generateSecret(), "-x", key32),
      `${STORE_ID_RULE} "-x"`,
    ],
    [
      "64-character store id",
      () => deriveStoreKeysSync(generateSecret(), "a".repeat(64), key32),
      `${STORE_ID_RULE} "${"a".repeat(64)}"`,
    ],
    [
      "store id with a newline",
      () => deriveStoreKeysSync(generateSecret(), "a\nb", key32),
      `${STORE_ID_RULE} "a\\nb"`,
    ],
    [
      "non-string store id",
      () => deriveStoreKeysSync(generateSecret(), 42 as unknown as string, key32),
      '"storeId" expected a string, got number',
    ],
    [
      "31-byte store salt",
      () => deriveStoreKeysSync(generateSecret(), "a", randomBytes(31)),
      '"storeSalt" expected 32 bytes, got 31',
    ],
    [
      "33-byte store salt",
      () => deriveStoreKeysSync(generateSecret(), "a", randomBytes(33)),
      '"storeSalt" expected 32 bytes, got 33',
    ],
    [
      "string store salt",
      () => deriveStoreKeysSync(generateSecret(), "a", "salt" as unknown as Uint8Array),
      '"storeSalt" expected a Uint8Array, got string',
    ],
    // key names
    ["empty key name", () => computeKeyId(keys, ""), '"keyName" must not be empty'],
    [
      "1,025-byte key name",
      () => computeKeyId(keys, "k".repeat(1025)),
      '"keyName" expected at most 1024 UTF-8 bytes, got 1025',
    ],
    [
      "key name over 1,024 bytes only in UTF-8",
      () => computeKeyId(keys, "é".repeat(513)),
      '"keyName" expected at most 1024 UTF-8 bytes, got 1026',
    ],
    [
      "key name with a lone surrogate",
      () => computeKeyId(keys, "ab\uD800c"),
      '"keyName" must be well-formed Unicode: lone surrogate at index 2',
    ],
    [
      "non-string key name",
      () => seal(keys, undefined as unknown as string, "v"),
      '"keyName" expected a string, got undefined',
    ],
    // values
    [
      "value over 1 MiB (bytes)",
      () => seal(keys, "k", new Uint8Array(1_048_577)),
      '"value" expected at most 1048576 bytes, got 1048577',
    ],
    [
      "value over 1 MiB (text)",
      () => seal(keys, "k", "é".repeat(524_289)),
      '"value" expected at most 1048576 UTF-8 bytes, got 1048578',
    ],
    [
      "text value with a lone surrogate",
      () => seal(keys, "k", "\uDC00x"),
      '"value" must be well-formed Unicode: lone surrogate at index 0',
    ],
    [
      "number value",
      () => seal(keys, "k", 5 as unknown as string),
      '"value" expected a string or Uint8Array, got number',
    ],
    [
      "null value",
      () => seal(keys, "k", null as unknown as string),
      '"value" expected a string or Uint8Array, got null',
    ],
    [
      "31-byte message salt",
      () => sealWithSalt(keys, "k", "v", randomBytes(31), 0),
      '"salt" expected 32 bytes, got 31',
    ],
    [
      "negative write time",
      () => seal(keys, "k", "v", -1),
      `"writtenAt" expected an integer of Unix milliseconds from 0 to 8640000000000000, got -1`,
    ],
    [
      "fractional write time",
      () => seal(keys, "k", "v", 1.5),
      `"writtenAt" expected an integer of Unix milliseconds from 0 to 8640000000000000, got 1.5`,
    ],
    [
      "write time past a Date's range",
      () => seal(keys, "k", "v", 8.64e15 + 1),
      `"writtenAt" expected an integer of Unix milliseconds from 0 to 8640000000000000, got 8640000000000001`,
    ],
    [
      "NaN write time",
      () => seal(keys, "k", "v", Number.NaN),
      `"writtenAt" expected an integer of Unix milliseconds from 0 to 8640000000000000, got NaN`,
    ],
    [
      "Date as write time",
      () => seal(keys, "k", "v", new Date() as unknown as number),
      `"writtenAt" expected an integer of Unix milliseconds from 0 to 8640000000000000, got Date`,
    ],
    // open: argument types are caller bugs, not bad data
    [
      "string envelope",
      () => open(keys, keyId, "x" as unknown as Uint8Array),
      '"envelope" expected a Uint8Array, got string',
    ],
    [
      "array key id",
      () => open(keys, [1] as unknown as Uint8Array, randomBytes(400)),
      '"keyId" expected a Uint8Array, got array',
    ],
    [
      "keys not from deriveStoreKeys",
      () => seal({ storeId: "a", fingerprint: Buffer.alloc(8) } as unknown as StoreKeys, "k", "v"),
      '"keys" expected StoreKeys from deriveStoreKeys() that have not been destroyed',
    ],
    // at rest
    [
      "31-byte master key",
      () => masterKeyId(randomBytes(31)),
      '"masterKey" expected 32 bytes, got 31',
    ],
    [
      "31-byte master key (wrap)",
      () => wrapDataKey(randomBytes(31), "a", key32),
      '"masterKey" expected 32 bytes, got 31',
    ],
    [
      "16-byte data key (wrap)",
      () => wrapDataKey(key32, "a", randomBytes(16)),
      '"dataKey" expected 32 bytes, got 16',
    ],
    ["bad store id (wrap)", () => wrapDataKey(key32, "A", key32), `${STORE_ID_RULE} "A"`],
    [
      "11-byte iv",
      () => wrapDataKeyWithIv(key32, "a", key32, randomBytes(11)),
      '"iv" expected 12 bytes, got 11',
    ],
    [
      "33-byte master key (unwrap)",
      () => unwrapDataKey(randomBytes(33), "a", randomBytes(61)),
      '"masterKey" expected 32 bytes, got 33',
    ],
    [
      "31-byte data key (seal at rest)",
      () => sealAtRest(randomBytes(31), "a", keyId, Buffer.alloc(1)),
      '"dataKey" expected 32 bytes, got 31',
    ],
    [
      "31-byte key id (seal at rest)",
      () => sealAtRest(key32, "a", randomBytes(31), Buffer.alloc(1)),
      '"keyId" expected 32 bytes, got 31',
    ],
    [
      "string blob",
      () => sealAtRest(key32, "a", keyId, "x" as unknown as Uint8Array),
      '"blob" expected a Uint8Array, got string',
    ],
    [
      "16-byte salt at rest",
      () => sealAtRestWithSalt(key32, "a", keyId, Buffer.alloc(1), randomBytes(16)),
      '"salt" expected 32 bytes, got 16',
    ],
    [
      "33-byte key id (open at rest)",
      () => openAtRest(key32, "a", randomBytes(33), randomBytes(80)),
      '"keyId" expected 32 bytes, got 33',
    ],
  ];

  for (const [what, call, message] of table) {
    it(`refuses ${what}`, () => expectCryptoError(call, "INVALID_INPUT", message));
  }

  it("rejects (does not throw synchronously) from the async derivation", async () => {
    const pending = deriveStoreKeys(generateSecret(), "Bad", key32);
    await expect(pending).rejects.toMatchObject({ code: "INVALID_INPUT", name: "CryptoError" });
  });

  it("never echoes more than 70 characters of a bad store id", () => {
    expectCryptoError(
      () => deriveStoreKeysSync(generateSecret(), `A${"a".repeat(500)}`, key32),
      "INVALID_INPUT",
      `${STORE_ID_RULE} "A${"a".repeat(69)}…"`,
    );
  });
});
