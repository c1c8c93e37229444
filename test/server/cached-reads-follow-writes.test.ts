import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, call, type RawClients, rawClients } from "../support/grpc-clients.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { createStore, keyRef, newFingerprint, uniqueStoreId } from "../support/vault-fixtures.js";

/**
 * The entry cache must never serve a stale value: under concurrent reads and
 * writes of the same keys, every read that starts after a write was
 * acknowledged sees that write or a later one, and deletes and rotations are
 * seen at once. (Threat: a cache that hands back a replaced or deleted token.)
 */
let t: TestServer;
let c: RawClients;

beforeAll(async () => {
  t = await startTestServer();
  c = rawClients(t.address);
});

afterAll(async () => {
  c?.close();
  await t?.close();
});

const value = (round: number): Buffer =>
  Buffer.concat([Buffer.from(`v${round}:`), randomBytes(300)]);

describe("cached reads follow acknowledged writes", () => {
  it("interleaved writes and reads on hot keys: every read after an ack sees it or later", async () => {
    const md = bearer(t.adminToken);
    const storeId = await createStore(c, t.adminToken, uniqueStoreId("hot"));
    const fp = newFingerprint();
    const keys = Array.from({ length: 4 }, () => keyRef(fp));
    const acked = new Map<string, number>();
    const readRound = (entry: { sealedValue: Buffer } | undefined): number =>
      entry === undefined
        ? -1
        : Number(/^v(\d+):/.exec(entry.sealedValue.subarray(0, 12).toString("latin1"))?.[1]);

    for (let round = 1; round <= 40; round++) {
      await Promise.all(
        keys.map(async (key, i) => {
          const id = key.keyId.toString("hex");
          // Reads racing the write may see either side of it…
          const racing = call(c.vault, c.vault.getValue, { storeId, key, previousKeys: [] }, md);
          await call(
            c.vault,
            c.vault.setValue,
            { storeId, key, sealedValue: value(round * 10 + i), previousKeys: [] },
            md,
          );
          acked.set(id, round * 10 + i);
          await racing;
          // …but a read that starts after the ack must see it.
          const after = await call(
            c.vault,
            c.vault.getValue,
            { storeId, key, previousKeys: [] },
            md,
          );
          expect(readRound(after.entry)).toBe(acked.get(id));
        }),
      );
    }
  });

  it("a delete is seen at once, and so is a rotation's replacement of the old key id", async () => {
    const md = bearer(t.adminToken);
    const storeId = await createStore(c, t.adminToken, uniqueStoreId("gone"));
    const oldFp = newFingerprint();
    const key = keyRef(oldFp);
    await call(
      c.vault,
      c.vault.setValue,
      { storeId, key, sealedValue: value(1), previousKeys: [] },
      md,
    );
    await call(c.vault, c.vault.getValue, { storeId, key, previousKeys: [] }, md); // now cached
    await call(c.vault, c.vault.deleteValue, { storeId, key, previousKeys: [] }, md);
    expect(
      (await call(c.vault, c.vault.getValue, { storeId, key, previousKeys: [] }, md)).entry,
    ).toBeUndefined();

    await call(
      c.vault,
      c.vault.setValue,
      { storeId, key, sealedValue: value(2), previousKeys: [] },
      md,
    );
    await call(c.vault, c.vault.getValue, { storeId, key, previousKeys: [] }, md); // cached again
    const newKey = keyRef(newFingerprint());
    await call(
      c.vault,
      c.vault.setValue,
      { storeId, key: newKey, sealedValue: value(3), previousKeys: [key] },
      md,
    );
    expect(
      (await call(c.vault, c.vault.getValue, { storeId, key, previousKeys: [] }, md)).entry,
    ).toBeUndefined();
    const moved = await call(
      c.vault,
      c.vault.getValue,
      { storeId, key: newKey, previousKeys: [key] },
      md,
    );
    expect(moved.entry?.sealedValue.subarray(0, 3).toString()).toBe("v3:");
  });
});
