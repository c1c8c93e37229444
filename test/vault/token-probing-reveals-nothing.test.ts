import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { openRepository } from "../../src/storage/open-repository.js";
import { newAccessToken } from "../../src/vault/access-token.js";
import { Authenticator } from "../../src/vault/authenticator.js";
import { DataKeyRing } from "../../src/vault/data-key-ring.js";
import type { Repository, RepositoryReads } from "../../src/vault/repository.js";
import { isVaultError } from "../../src/vault/vault-error.js";
import { InlineWriteExecutor } from "../../src/vault/write-executor.js";

/**
 * Threat: probing for token ids. If an unknown id costs a database read and
 * a known id with a wrong secret does not, the difference in time (≈30 µs
 * measured on the landed code) tells an attacker which ids exist, and a
 * flood of made-up ids becomes a flood of queries. Authentication must read
 * the token table a bounded number of times whatever ids are presented, and
 * answer a wrong secret and an unknown id alike.
 */

let dataDir: string;
let repo: Repository;
let reads: number;
let authenticator: Authenticator;

/** The real repository, counting every read the authenticator makes. */
function counted(inner: Repository): RepositoryReads {
  return new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        reads += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "hexclave-probe-"));
  repo = await openRepository({ dataDir });
  reads = 0;
  const writes = new InlineWriteExecutor(repo, new DataKeyRing(randomBytes(32)));
  // No background refresh during the test: only calls can cause reads.
  authenticator = new Authenticator(counted(repo), writes, {
    refreshMs: 3_600_000,
    maxStaleMs: 3_600_000,
  });
});

afterEach(async () => {
  authenticator.close();
  await repo.close();
  await rm(dataDir, { recursive: true, force: true });
});

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
  await repo.transaction((tx) =>
    tx.insertToken({
      id: known.id,
      name: "known",
      secretHash: known.secretHash,
      admin: true,
      grants: [],
      createdAt: Date.now(),
      lastUsedAt: null,
      revokedAt: null,
    }),
  );
  for (let i = 0; i < 1000; i++) {
    const madeUp = newAccessToken().token;
    expect((await refusal(`Bearer ${madeUp}`)).reason).toBe("TOKEN_INVALID");
  }
  expect(reads).toBe(1);
});

it("answers a known id with a wrong secret exactly as an unknown id", async () => {
  const known = newAccessToken();
  await repo.transaction((tx) =>
    tx.insertToken({
      id: known.id,
      name: "known",
      secretHash: known.secretHash,
      admin: false,
      grants: [{ storeId: "s", read: true, write: false }],
      createdAt: Date.now(),
      lastUsedAt: null,
      revokedAt: null,
    }),
  );
  const wrongSecret = `hxk_${known.id}_${randomBytes(32).toString("base64url")}`;
  const unknown = newAccessToken().token;
  expect(await refusal(`Bearer ${wrongSecret}`)).toEqual(await refusal(`Bearer ${unknown}`));
  // And the right secret still works, from the same table read.
  expect((await authenticator.authenticate(`Bearer ${known.token}`)).tokenId).toBe(known.id);
  expect(reads).toBe(1);
});
