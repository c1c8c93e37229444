import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { openStorage } from "../../src/storage/open-storage.js";
import { serverIdentity } from "../../src/storage/server-registry.js";
import { newAccessToken } from "../../src/vault/access-token.js";
import { Authenticator } from "../../src/vault/authenticator.js";
import type { Storage, TokenRow } from "../../src/vault/storage-port.js";
import { isVaultError } from "../../src/vault/vault-error.js";
import { countingStorage } from "../support/counting-storage.js";

/**
 * Threat: probing for token ids. If an unknown id costs a database read and
 * a known id with a wrong secret does not, the difference in time (≈30 µs
 * measured on the landed code) tells an attacker which ids exist, and a
 * flood of made-up ids becomes a flood of queries. Authentication must read
 * the token table a bounded number of times whatever ids are presented, and
 * answer a wrong secret and an unknown id alike.
 */

let dataDir: string;
let storage: Storage;
let reads: number;
let authenticator: Authenticator;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "hexclave-probe-"));
  storage = await openStorage({ dataDir, masterKeys: [randomBytes(32)], server: serverIdentity() });
  reads = 0;
  const counted = countingStorage(storage, (what) => {
    if (what !== "touchTokens") reads += 1;
  });
  // No background refresh during the test: only calls can cause reads.
  authenticator = new Authenticator(counted.reads, counted, {
    refreshMs: 3_600_000,
    maxStaleMs: 3_600_000,
  });
});

afterEach(async () => {
  authenticator.close();
  await storage.close();
  await rm(dataDir, { recursive: true, force: true });
});

function insertToken(row: TokenRow): Promise<boolean> {
  return storage.write({ kind: "insertToken", row, onlyIfNone: false });
}

async function refusal(authorization: string): Promise<{ reason: string; message: string }> {
  try {
    await authenticator.authenticate(authorization);
  } catch (error) {
    if (isVaultError(error)) return { reason: error.reason, message: error.message };
    throw error;
  }
  throw new Error("authenticated");
}

it("1,000 made-up token ids cost one read of the token table, not one query each", async () => {
  const known = newAccessToken();
  await insertToken({
    id: known.id,
    name: "known",
    secretHash: known.secretHash,
    admin: true,
    grants: [],
    createdAt: Date.now(),
    lastUsedAt: null,
    revokedAt: null,
    expiresAt: null,
  });
  for (let i = 0; i < 1000; i++) {
    const madeUp = newAccessToken().token;
    expect((await refusal(`Bearer ${madeUp}`)).reason).toBe("TOKEN_INVALID");
  }
  expect(reads).toBe(1);
});

it("answers a known id with a wrong secret exactly as an unknown id", async () => {
  const known = newAccessToken();
  await insertToken({
    id: known.id,
    name: "known",
    secretHash: known.secretHash,
    admin: false,
    grants: [{ storeId: "s", read: true, write: false }],
    createdAt: Date.now(),
    lastUsedAt: null,
    revokedAt: null,
    expiresAt: null,
  });
  const wrongSecret = `hxk_${known.id}_${randomBytes(32).toString("base64url")}`;
  const unknown = newAccessToken().token;
  expect(await refusal(`Bearer ${wrongSecret}`)).toEqual(await refusal(`Bearer ${unknown}`));
  // And the right secret still works, from the same table read.
  expect((await authenticator.authenticate(`Bearer ${known.token}`)).tokenId).toBe(known.id);
  expect(reads).toBe(1);
});
