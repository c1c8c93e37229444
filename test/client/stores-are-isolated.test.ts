import { afterAll, beforeAll, expect, it } from "vitest";
import type { Entry } from "../../gen/hexclave/v1/types.js";
import { type DataVaultStore, generateSecret } from "../../src/client/index.js";
import { errorFromStatus } from "../../src/client/status-to-error.js";
import { bearer, call } from "../support/grpc-clients.js";
import { type ClientFixture, startClientFixture } from "./support/client-fixture.js";

/**
 * Promise 2: stores are isolated. The same key name under the same secret
 * gives unrelated key ids, fingerprints and envelopes in two stores, and a
 * token for one store cannot touch the other.
 */

const secret = generateSecret();
let f: ClientFixture;
let a: DataVaultStore;
let b: DataVaultStore;

beforeAll(async () => {
  f = await startClientFixture();
  await f.createStore("iso-a");
  await f.createStore("iso-b");
  const admin = f.client();
  a = await admin.getDataVaultStore("iso-a");
  b = await admin.getDataVaultStore("iso-b");
  await a.setValue("gh:42", "token-in-a", { secret });
  await b.setValue("gh:42", "token-in-b", { secret });
});
afterAll(() => f.close());

async function onlyEntry(storeId: string): Promise<Entry> {
  const stream = f.raw.vault.listEntries(
    { storeId, secretFingerprints: [], startAfterKeyId: Buffer.alloc(0), pageSize: 0n },
    bearer(f.server.adminToken),
  );
  const entries: Entry[] = [];
  for await (const page of stream) entries.push(...(page as { entries: Entry[] }).entries);
  expect(entries).toHaveLength(1);
  return entries[0] as Entry;
}

it("gives the same key name and secret unrelated key ids, fingerprints and envelopes per store", async () => {
  const [inA, inB] = [await onlyEntry("iso-a"), await onlyEntry("iso-b")];
  expect(inA.keyId.equals(inB.keyId)).toBe(false);
  expect(inA.secretFingerprint.equals(inB.secretFingerprint)).toBe(false);
  expect(inA.sealedValue.equals(inB.sealedValue)).toBe(false);
  expect(await a.secretFingerprint(secret)).toBe(inA.secretFingerprint.toString("hex"));
  expect(await b.secretFingerprint(secret)).toBe(inB.secretFingerprint.toString("hex"));
  expect(await a.getValue("gh:42", { secret })).toBe("token-in-a");
  expect(await b.getValue("gh:42", { secret })).toBe("token-in-b");
});

it("denies a token for store A every access to store B (PermissionDeniedError)", async () => {
  const tokenA = await f.createToken([{ storeId: "iso-a", read: true, write: true }]);
  const client = f.client({ token: tokenA });
  const own = await client.getDataVaultStore("iso-a");
  expect(await own.getValue("gh:42", { secret })).toBe("token-in-a");

  await expect(client.getDataVaultStore("iso-b")).rejects.toMatchObject({
    name: "PermissionDeniedError",
    code: "PERMISSION_DENIED",
  });

  // Every data-plane RPC on B, with a well-formed request for B's entry, is refused.
  const entryB = await onlyEntry("iso-b");
  const key = { keyId: entryB.keyId, secretFingerprint: entryB.secretFingerprint };
  const asA = bearer(tokenA);
  const v = f.raw.vault;
  const storeId = "iso-b";
  const attempts: Promise<unknown>[] = [
    call(v, v.getValue, { storeId, key, previousKeys: [] }, asA),
    call(v, v.batchGetValues, { storeId, keys: [key] }, asA),
    call(v, v.setValue, { storeId, key, sealedValue: entryB.sealedValue, previousKeys: [] }, asA),
    call(v, v.deleteValue, { storeId, key, previousKeys: [] }, asA),
    call(
      v,
      v.registerSecret,
      {
        storeId,
        secretFingerprint: Buffer.alloc(8, 1),
        knownSecretFingerprint: entryB.secretFingerprint,
      },
      asA,
    ),
    call(v, v.retireSecret, { storeId, secretFingerprint: entryB.secretFingerprint }, asA),
  ];
  for (const attempt of attempts) {
    const error = await attempt.then(
      () => undefined,
      (e) => errorFromStatus(e),
    );
    expect(error).toMatchObject({ name: "PermissionDeniedError", code: "PERMISSION_DENIED" });
  }
  expect(await b.getValue("gh:42", { secret })).toBe("token-in-b");
});

it("lets a read-only token read but not write", async () => {
  const reader = await f.createToken([{ storeId: "iso-a", read: true, write: false }]);
  const store = await f.client({ token: reader }).getDataVaultStore("iso-a");
  expect(await store.getValue("gh:42", { secret })).toBe("token-in-a");
  await expect(store.setValue("gh:42", "overwritten", { secret })).rejects.toMatchObject({
    code: "PERMISSION_DENIED",
  });
  await expect(store.deleteValue("gh:42", { secret })).rejects.toMatchObject({
    code: "PERMISSION_DENIED",
  });
  expect(await a.getValue("gh:42", { secret })).toBe("token-in-a");
});
