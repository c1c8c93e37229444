import { readFileSync, rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type DataVaultStore,
  DECRYPTION_FAILED_MESSAGE,
  generateSecret,
} from "../../src/client/index.js";
import { openAtRest, sealAtRest, unwrapDataKey } from "../../src/crypto/at-rest.js";
import { computeKeyId } from "../../src/crypto/key-id.js";
import { deriveStoreKeysSync } from "../../src/crypto/store-keys.js";
import { type ClientFixture, startClientFixture } from "./support/client-fixture.js";

/**
 * Promise 1 against a hostile or broken storage layer: an entry moved to
 * another key id, or to another store, must fail to open, with the one fixed
 * message, and never read as another entry's value. Done twice: a naive move
 * of the row (the server's at-rest layer notices), and a malicious server
 * that re-seals the at-rest layer correctly for the new place, so that only
 * the client's own binding of store id and key id can notice.
 */

const secret = generateSecret();
let dataDir: string;
let f: ClientFixture;
let db: Database.Database;
let masterKey: Buffer;
const stores: Record<string, DataVaultStore> = {};

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "hexclave-swap-"));
  // Rows are moved under the running server: with the entry cache off, every
  // read goes to the database and meets the moved rows.
  f = await startClientFixture({ dataDir, env: { HEXCLAVE_CACHE_MB: "0" } });
  const client = f.client();
  // Naive swaps in one pair of stores, malicious ones in another, so a listing meets only one kind.
  for (const id of ["naive-a", "naive-b", "evil-a", "evil-b"]) {
    await f.createStore(id);
    stores[id] = await client.getDataVaultStore(id);
    for (const name of ["src", "dst", "moved"]) {
      await storeOf(id).setValue(name, `${id}:${name}:value`, { secret });
    }
  }
  db = new Database(join(dataDir, "hexclave.db"));
  masterKey = Buffer.from(readFileSync(join(dataDir, "master.key"), "utf8").trim(), "base64");
});
afterAll(async () => {
  db.close();
  await f.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function storeOf(id: string): DataVaultStore {
  return stores[id] as DataVaultStore;
}

interface StoreRow {
  uid: Buffer;
  salt: Buffer;
  wrapped_key: Buffer;
}

function storeRow(id: string): StoreRow {
  return db.prepare("select uid, salt, wrapped_key from stores where id = ?").get(id) as StoreRow;
}

function keyIdOf(storeId: string, keyName: string): Buffer {
  const keys = deriveStoreKeysSync(secret, storeId, storeRow(storeId).salt);
  return computeKeyId(keys, keyName);
}

/**
 * Replaces the entry `to` with the stored bytes of entry `from`, as a storage
 * layer could. `reseal`: re-seal the at-rest layer for the new store and key
 * id with the master key, as a malicious server holding it would.
 */
function moveEntry(
  from: { store: string; key: string },
  to: { store: string; key: string },
  reseal: boolean,
): void {
  const src = storeRow(from.store);
  const dst = storeRow(to.store);
  const fromId = keyIdOf(from.store, from.key);
  const toId = keyIdOf(to.store, to.key);
  const row = db
    .prepare("select blob from entries where store_uid = ? and key_id = ?")
    .get(src.uid, fromId) as { blob: Buffer };
  let blob = row.blob;
  if (reseal) {
    const envelope = openAtRest(
      unwrapDataKey(masterKey, from.store, src.wrapped_key),
      from.store,
      fromId,
      blob,
    );
    blob = sealAtRest(
      unwrapDataKey(masterKey, to.store, dst.wrapped_key),
      to.store,
      toId,
      envelope,
    );
  }
  const changed = db
    .prepare("update entries set blob = ? where store_uid = ? and key_id = ?")
    .run(blob, dst.uid, toId);
  expect(changed.changes).toBe(1);
}

async function consume(entries: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of entries) {
    // only the failure matters
  }
}

async function expectUnopenable(read: Promise<unknown>, caughtBy: "server" | "client") {
  const error = await read.then(
    (value) => ({ value }),
    (e: unknown) => e,
  );
  expect(error).toMatchObject({
    name: "DecryptionError",
    code: "DECRYPTION_FAILED",
    message: DECRYPTION_FAILED_MESSAGE,
  });
  // The server's at-rest check reports DATA_CORRUPTED; the client's own check has no server reason.
  expect((error as { reason: unknown }).reason).toBe(
    caughtBy === "server" ? "DATA_CORRUPTED" : undefined,
  );
}

describe("a naive swap of stored rows is caught by the server's at-rest layer", () => {
  it("to another key id in the same store", async () => {
    moveEntry({ store: "naive-a", key: "src" }, { store: "naive-a", key: "dst" }, false);
    await expectUnopenable(storeOf("naive-a").getValue("dst", { secret }), "server");
    await expectUnopenable(storeOf("naive-a").getValues(["dst"], { secret }), "server");
    await expectUnopenable(consume(storeOf("naive-a").entries({ secret })), "server");
  });

  it("to another store", async () => {
    moveEntry({ store: "naive-a", key: "moved" }, { store: "naive-b", key: "moved" }, false);
    await expectUnopenable(storeOf("naive-b").getValue("moved", { secret }), "server");
  });
});

describe("a malicious server that re-seals the at-rest layer is caught by the client", () => {
  it("to another key id in the same store: never the other entry's value", async () => {
    moveEntry({ store: "evil-a", key: "src" }, { store: "evil-a", key: "dst" }, true);
    await expectUnopenable(storeOf("evil-a").getValue("dst", { secret }), "client");
    await expectUnopenable(storeOf("evil-a").getEntry("dst", { secret }), "client");
    await expectUnopenable(storeOf("evil-a").getValues(["src", "dst"], { secret }), "client");
    // The listing hands the blob over under the swapped id: it must not open either.
    await expectUnopenable(consume(storeOf("evil-a").entries({ secret })), "client");
    // The source entry itself is untouched.
    expect(await storeOf("evil-a").getValue("src", { secret })).toBe("evil-a:src:value");
  });

  it("to another store: never the other store's value", async () => {
    moveEntry({ store: "evil-a", key: "moved" }, { store: "evil-b", key: "moved" }, true);
    await expectUnopenable(storeOf("evil-b").getValue("moved", { secret }), "client");
    expect(await storeOf("evil-a").getValue("moved", { secret })).toBe("evil-a:moved:value");
  });
});
