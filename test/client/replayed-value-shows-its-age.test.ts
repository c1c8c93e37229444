import { rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DataVaultStore, generateSecret } from "../../src/client/index.js";
import { computeKeyId } from "../../src/crypto/key-id.js";
import { deriveStoreKeysSync } from "../../src/crypto/store-keys.js";
import { type ClientFixture, startClientFixture } from "./support/client-fixture.js";

/**
 * A server (or whoever restores its backup) can hand back an older value of
 * the same key: every check passes, since that envelope was genuinely sealed
 * for this key and store. A stateless client cannot refuse it
 * (docs/sealing.md §9.2), but it must not be able to pass it off as new:
 * the write time is sealed inside the envelope, so the replayed value shows
 * its old time even when the server reports the latest version.
 */

const secret = generateSecret();
let dataDir: string;
let f: ClientFixture;
let db: Database.Database;
let store: DataVaultStore;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "hexclave-replay-"));
  // With the entry cache off, every read meets the row as it is on disk.
  f = await startClientFixture({ dataDir, env: { HEXCLAVE_CACHE_MB: "0" } });
  await f.createStore("replay");
  store = await f.client().getDataVaultStore("replay");
  db = new Database(join(dataDir, "hexclave.db"));
});
afterAll(async () => {
  db.close();
  await f.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function row(keyName: string): { uid: Buffer; keyId: Buffer } {
  const { uid, salt } = db.prepare("select uid, salt from stores where id = ?").get("replay") as {
    uid: Buffer;
    salt: Buffer;
  };
  return { uid, keyId: computeKeyId(deriveStoreKeysSync(secret, "replay", salt), keyName) };
}

describe("an older value of the same key, replayed by the server", () => {
  it("opens (no stateless client can refuse it) but shows its old write time", async () => {
    await store.setValue("gh:1", "old-refresh-token", { secret });
    const old = await store.getEntry("gh:1", { secret });
    const { uid, keyId } = row("gh:1");
    const select = db.prepare("select blob from entries where store_uid = ? and key_id = ?");
    const oldBlob = (select.get(uid, keyId) as { blob: Buffer }).blob;

    // Two writes, two distinct times: let the clock pass the first one (at most a millisecond).
    while (Date.now() <= (old?.writtenAt.getTime() as number)) {}
    const { version: latest } = await store.setValue("gh:1", "new-refresh-token", { secret });
    const fresh = await store.getEntry("gh:1", { secret });
    expect(fresh?.writtenAt.getTime()).toBeGreaterThan(old?.writtenAt.getTime() as number);

    // The row keeps its latest version; only the sealed value is rolled back. The at-rest
    // layer binds store and key id, not time, so the server itself still opens it.
    db.prepare("update entries set blob = ? where store_uid = ? and key_id = ?").run(
      oldBlob,
      uid,
      keyId,
    );
    const replayed = await store.getEntry("gh:1", { secret });
    expect(replayed?.value).toBe("old-refresh-token");
    expect(replayed?.version).toBe(latest);
    // What gives it away: the time sealed with the value, which the server cannot change.
    expect(replayed?.writtenAt).toEqual(old?.writtenAt);
    expect(replayed?.writtenAt.getTime()).toBeLessThan(fresh?.writtenAt.getTime() as number);
    for await (const listed of store.entries({ secret })) {
      expect(listed.writtenAt).toEqual(old?.writtenAt);
    }
  });
});
