import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAtRest, unwrapDataKey } from "../../src/crypto/at-rest.js";
import type { EntriesTable, StoresTable } from "../../src/storage/schema.js";
import {
  bearer,
  call,
  expectStatus,
  type RawClients,
  rawClients,
} from "../support/grpc-clients.js";
import { type ControlledServer, launch, stop, tempDataDir } from "../support/server-control.js";
import { occurrences, withDataFile } from "../support/sqlite-files.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import {
  createStore,
  keyRef,
  listPages,
  newFingerprint,
  setValue,
} from "../support/vault-fixtures.js";

/**
 * Threat: a deleted store's data read back from rows left behind — unpurged
 * rows, a backup taken after the deletion, rows copied into a re-created
 * store of the same name. Deleting a store destroys its data key first; from
 * then on its entries cannot be opened by anyone, the operator included.
 */

function storeRow(dataDir: string, where: { id?: string; uid?: Buffer }): StoresTable | undefined {
  return withDataFile(
    dataDir,
    (db) =>
      (where.uid === undefined
        ? db.prepare("select * from stores where id = ? and deleted_at is null").get(where.id)
        : db.prepare("select * from stores where uid = ?").get(where.uid)) as
        | StoresTable
        | undefined,
    { readonly: true },
  );
}

function entryRows(dataDir: string, uid: Buffer): EntriesTable[] {
  return withDataFile(
    dataDir,
    (db) => db.prepare("select * from entries where store_uid = ?").all(uid) as EntriesTable[],
    { readonly: true },
  );
}

function countEntries(dataDir: string, uid: Buffer): number {
  return withDataFile(
    dataDir,
    (db) =>
      db.prepare("select count(*) from entries where store_uid = ?").pluck().get(uid) as number,
    { readonly: true },
  );
}

function insertEntries(dataDir: string, uid: Buffer, rows: readonly EntriesTable[]): void {
  withDataFile(dataDir, (db) => {
    const insert = db.prepare(
      "insert into entries (store_uid, key_id, fingerprint, blob, version, updated_at) values (?, ?, ?, ?, ?, ?)",
    );
    db.transaction(() => {
      for (const r of rows) {
        insert.run(uid, r.key_id, r.fingerprint, r.blob, r.version, r.updated_at);
      }
    })();
  });
}

/** Polls the database (the purge runs in the background) until `done`, within a generous bound. */
async function eventually(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 45_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function purged(dataDir: string, uid: Buffer): boolean {
  return countEntries(dataDir, uid) === 0 && storeRow(dataDir, { uid }) === undefined;
}

describe("deleting a store crypto-shreds it", () => {
  let t: TestServer;
  let c: RawClients;
  const fp = newFingerprint();
  const STORE = "doomed";
  const values = Array.from({ length: 5 }, (_, i) =>
    Buffer.from(`sealed value ${i} ${randomBytes(8).toString("hex")}`),
  );
  const keys = values.map(() => keyRef(fp));
  let masterKey: Buffer;
  let before: StoresTable;
  let leftBehind: EntriesTable[];

  beforeAll(async () => {
    t = await startTestServer();
    c = rawClients(t.address);
    await createStore(c, t.adminToken, STORE);
    for (const [i, value] of values.entries()) {
      await setValue(c, t.adminToken, STORE, keys[i] as (typeof keys)[0], value);
    }
    masterKey = Buffer.from(readFileSync(join(t.dataDir, "master.key"), "utf8").trim(), "base64");
    before = storeRow(t.dataDir, { id: STORE }) as StoresTable;
    leftBehind = entryRows(t.dataDir, before.uid);
  });

  afterAll(async () => {
    c?.close();
    await t?.close();
  });

  it("before deletion the captured rows do open with the store's key (the control)", () => {
    expect(leftBehind).toHaveLength(values.length);
    const dataKey = unwrapDataKey(masterKey, STORE, before.wrapped_key);
    for (const row of leftBehind) {
      const i = keys.findIndex((k) => k.keyId.equals(row.key_id));
      expect(openAtRest(dataKey, STORE, row.key_id, row.blob).equals(values[i] as Buffer)).toBe(
        true,
      );
    }
    expect(occurrences(t.dataDir, before.wrapped_key).length).toBeGreaterThan(0);
  });

  it("(a) once DeleteStore returns, the wrapped key is in none of hexclave.db, -wal, -shm", async () => {
    const res = await call(c.admin, c.admin.deleteStore, { storeId: STORE }, bearer(t.adminToken));
    expect(res.deletedEntryCount).toBe(BigInt(values.length));
    expect(occurrences(t.dataDir, before.wrapped_key)).toEqual([]);
    const after = storeRow(t.dataDir, { uid: before.uid });
    // Until the purge removes it, the row stays with an empty key.
    if (after !== undefined) expect(after.wrapped_key).toHaveLength(0);
  });

  it("(c) the purge then removes the store's rows", async () => {
    await eventually(() => purged(t.dataDir, before.uid), "the purge of the deleted store");
    expect(occurrences(t.dataDir, before.wrapped_key)).toEqual([]);
  });

  it("(b) rows left behind under the old store, brought back to life, give DATA_LOSS, never a value", async () => {
    // What a backup taken after the deletion holds: the store row with its key destroyed, and entries.
    withDataFile(t.dataDir, (db) => {
      db.prepare(
        "insert into stores (uid, id, description, salt, wrapped_key, master_key_id, max_value_bytes, entry_count, total_value_bytes, created_at, deleted_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, null)",
      ).run(
        before.uid,
        STORE,
        before.description,
        before.salt,
        Buffer.alloc(0),
        before.master_key_id,
        before.max_value_bytes,
        before.entry_count,
        before.total_value_bytes,
        before.created_at,
      );
    });
    insertEntries(t.dataDir, before.uid, leftBehind);
    try {
      for (const key of keys) {
        await expectStatus(
          call(
            c.vault,
            c.vault.getValue,
            { storeId: STORE, key, previousKeys: [] },
            bearer(t.adminToken),
          ),
          status.DATA_LOSS,
          "DATA_CORRUPTED",
        );
      }
    } finally {
      withDataFile(t.dataDir, (db) => {
        db.prepare("delete from entries where store_uid = ?").run(before.uid);
        db.prepare("delete from stores where uid = ?").run(before.uid);
      });
    }
  });

  it("(b) rows left behind, copied into a re-created store of the same id, give DATA_LOSS, never a value", async () => {
    await createStore(c, t.adminToken, STORE);
    const reborn = storeRow(t.dataDir, { id: STORE }) as StoresTable;
    expect(reborn.uid.equals(before.uid)).toBe(false);
    insertEntries(t.dataDir, reborn.uid, leftBehind);
    const md = bearer(t.adminToken);
    for (const key of keys) {
      const error = await expectStatus(
        call(c.vault, c.vault.getValue, { storeId: STORE, key, previousKeys: [] }, md),
        status.DATA_LOSS,
        "DATA_CORRUPTED",
      );
      for (const value of values) expect(error.details).not.toContain(value.toString());
    }
    await expectStatus(
      call(c.vault, c.vault.batchGetValues, { storeId: STORE, keys }, md),
      status.DATA_LOSS,
      "DATA_CORRUPTED",
    );
    await expectStatus(listPages(c, { storeId: STORE }, md), status.DATA_LOSS, "DATA_CORRUPTED");
  });

  it("(b) opened directly with the at-rest layer, the left-behind rows fail under every key but the destroyed one", () => {
    const reborn = storeRow(t.dataDir, { id: STORE }) as StoresTable;
    const candidates = {
      "the re-created store's key": unwrapDataKey(masterKey, STORE, reborn.wrapped_key),
      "a random key": randomBytes(32),
      "all zeros": Buffer.alloc(32),
      "the master key itself": masterKey,
    };
    for (const row of leftBehind) {
      for (const [name, key] of Object.entries(candidates)) {
        expect(() => openAtRest(key, STORE, row.key_id, row.blob), name).toThrow();
      }
    }
    // And the destroyed key cannot be recovered from what the store row now holds.
    expect(() => unwrapDataKey(masterKey, STORE, Buffer.alloc(0))).toThrow();
  });
});

describe("an interrupted purge", () => {
  let dataDir: string;
  let server: ControlledServer | undefined;

  beforeAll(async () => {
    dataDir = await tempDataDir("hexclave-purge-");
  });

  afterAll(async () => {
    if (server !== undefined) await stop(server, "SIGKILL");
    await rm(dataDir, { recursive: true, force: true });
  });

  it("(d) killed by SIGKILL mid-purge, resumes on restart and finishes", async () => {
    const env = {
      HEXCLAVE_DATA_DIR: dataDir,
      HEXCLAVE_ADMIN_TOKEN: `purge-admin-${randomBytes(24).toString("base64url")}`,
    };
    server = await launch(env);
    const c = rawClients(server.address);
    const md = bearer(env.HEXCLAVE_ADMIN_TOKEN);
    await createStore(c, env.HEXCLAVE_ADMIN_TOKEN, "purge-me");
    const fp = newFingerprint();
    await setValue(c, env.HEXCLAVE_ADMIN_TOKEN, "purge-me", keyRef(fp), Buffer.from("real entry"));
    const uid = (storeRow(dataDir, { id: "purge-me" }) as StoresTable).uid;
    // Many rows (the purge deletes 2,000 per transaction), written directly: only their number matters.
    insertEntries(
      dataDir,
      uid,
      Array.from({ length: 40_000 }, () => ({
        store_uid: uid,
        key_id: randomBytes(32),
        fingerprint: fp,
        blob: randomBytes(64),
        version: 1,
        updated_at: Date.now(),
        expires_at: null,
      })),
    );

    const p = server;
    await new Promise<void>((resolve, reject) => {
      c.admin.deleteStore({ storeId: "purge-me" }, md, (error) => {
        // The instant the deletion is acknowledged: no graceful anything.
        p.child.kill("SIGKILL");
        if (error === null) resolve();
        else reject(error);
      });
    });
    c.close();
    expect((await p.exited).signal).toBe("SIGKILL");
    await p.closed;
    server = undefined;

    const left = countEntries(dataDir, uid);
    expect(left, "the purge should have been cut short by the kill").toBeGreaterThan(0);
    expect(storeRow(dataDir, { uid })?.wrapped_key).toHaveLength(0);
    expect(storeRow(dataDir, { id: "purge-me" })).toBeUndefined();

    server = await launch(env);
    await eventually(() => purged(dataDir, uid), "the resumed purge");
    const c2 = rawClients(server.address);
    await expectStatus(
      call(c2.admin, c2.admin.getStore, { storeId: "purge-me" }, md),
      status.NOT_FOUND,
      "STORE_NOT_FOUND",
    );
    c2.close();
    await stop(server, "SIGTERM");
    server = undefined;
  });
});
