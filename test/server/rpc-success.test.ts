import { randomBytes } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Entry, Store } from "../../gen/hexclave/v1/types.js";
import { forEachBackend } from "../support/backends.js";
import {
  bearer,
  call,
  expectStatus,
  type RawClients,
  rawClients,
} from "../support/grpc-clients.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import {
  createStore,
  createToken,
  getValue,
  keyRef,
  listPages,
  newFingerprint,
  newKeyId,
  setValue,
  uniqueStoreId,
} from "../support/vault-fixtures.js";

/**
 * Every RPC of VaultService and AdminService on its success path, through the
 * generated clients against a real server: what each call answers, and that
 * counts and versions stay right across sets, overwrites, replaces and deletes.
 * Once per storage backend (SQLite, PostgreSQL).
 */

forEachBackend((backend) => {
  let t: TestServer;
  let c: RawClients;
  let admin: ReturnType<typeof bearer>;

  beforeAll(async () => {
    const { dataDir, databaseUrl } = await backend.fresh();
    t = await startTestServer({ dataDir, databaseUrl });
    c = rawClients(t.address);
    admin = bearer(t.adminToken);
  });

  afterAll(async () => {
    c?.close();
    await t?.close();
  });

  async function getStore(storeId: string): Promise<Store> {
    const res = await call(c.admin, c.admin.getStore, { storeId }, admin);
    return res.store as Store;
  }

  function secretCounts(store: Store): Record<string, number> {
    return Object.fromEntries(
      store.secrets.map((s) => [Buffer.from(s.fingerprint).toString("hex"), Number(s.entryCount)]),
    );
  }

  /** Asserts a store's counters against what is actually in it (listed). */
  async function expectCountsMatchContents(storeId: string): Promise<void> {
    const entries = (await listPages(c, { storeId }, admin)).flat();
    const store = await getStore(storeId);
    expect(store.entryCount).toBe(BigInt(entries.length));
    expect(store.totalValueBytes).toBe(
      BigInt(entries.reduce((sum, e) => sum + e.sealedValue.length, 0)),
    );
    const perSecret: Record<string, number> = {};
    for (const s of store.secrets) perSecret[Buffer.from(s.fingerprint).toString("hex")] = 0;
    for (const e of entries) {
      const hex = Buffer.from(e.secretFingerprint).toString("hex");
      perSecret[hex] = (perSecret[hex] ?? 0) + 1;
    }
    expect(secretCounts(store)).toEqual(perSecret);
  }

  describe("VaultService", () => {
    it("DescribeStore returns the public parameters of a new store", async () => {
      const id = await createStore(c, t.adminToken, uniqueStoreId(), { description: "for oauth" });
      const res = await call(c.vault, c.vault.describeStore, { storeId: id }, admin);
      expect(res.store).toMatchObject({
        id,
        description: "for oauth",
        maxValueBytes: 65_536,
        secrets: [],
        entryCount: 0n,
        totalValueBytes: 0n,
      });
      expect(res.store?.salt).toHaveLength(32);
      expect(res.store?.createTime).toBeInstanceOf(Date);
    });

    it("SetValue then GetValue returns the bytes as sent, with version 1 and the fingerprint", async () => {
      const id = await createStore(c, t.adminToken, uniqueStoreId());
      const fp = newFingerprint();
      const key = keyRef(fp);
      const value = randomBytes(300);
      const before = Date.now();
      expect(await setValue(c, t.adminToken, id, key, value)).toBe(1);
      const entry = (await getValue(c, t.adminToken, id, key)) as Entry;
      expect(Buffer.from(entry.sealedValue).equals(value)).toBe(true);
      expect(Buffer.from(entry.keyId).equals(key.keyId)).toBe(true);
      expect(Buffer.from(entry.secretFingerprint).equals(fp)).toBe(true);
      expect(entry.version).toBe(1n);
      expect(entry.updateTime?.getTime()).toBeGreaterThanOrEqual(before - 1000);
      // The first write registers its secret.
      const store = await getStore(id);
      expect(store.secrets.map((s) => Buffer.from(s.fingerprint).toString("hex"))).toEqual([
        fp.toString("hex"),
      ]);
      expect(await getValue(c, t.adminToken, id, keyRef(fp))).toBeUndefined();
    });

    it("SetValue: overwrite bumps the version; expected_version 0 is create-only; CAS writes only on a match", async () => {
      const id = await createStore(c, t.adminToken, uniqueStoreId());
      const fp = newFingerprint();
      const key = keyRef(fp);
      const set = (value: Buffer, expectedVersion?: number) =>
        call(
          c.vault,
          c.vault.setValue,
          {
            storeId: id,
            key,
            sealedValue: value,
            previousKeys: [],
            ...(expectedVersion === undefined ? {} : { expectedVersion: BigInt(expectedVersion) }),
          },
          admin,
        );

      const v1 = (await set(Buffer.from("v1"), 0)).version;
      expect(v1).toBe(1n);
      await expectStatus(set(Buffer.from("again"), 0), status.ABORTED, "VERSION_CONFLICT");
      // A refused write takes no version: the next write gets the next number.
      const v2 = (await set(Buffer.from("v2"))).version;
      expect(v2).toBe(2n);
      const v3 = (await set(Buffer.from("v3"), Number(v2))).version;
      expect(v3).toBe(3n);
      await expectStatus(set(Buffer.from("stale"), Number(v2)), status.ABORTED, "VERSION_CONFLICT");
      const entry = (await getValue(c, t.adminToken, id, key)) as Entry;
      expect(entry.version).toBe(v3);
      expect(Buffer.from(entry.sealedValue).toString()).toBe("v3");
    });

    it("GetValue falls back to previous_keys in order and prefers key when both exist", async () => {
      const id = await createStore(c, t.adminToken, uniqueStoreId());
      const oldFp = newFingerprint();
      const newFp = newFingerprint();
      const oldKey = keyRef(oldFp);
      await setValue(c, t.adminToken, id, oldKey, Buffer.from("sealed-under-old"));
      await call(
        c.vault,
        c.vault.registerSecret,
        { storeId: id, secretFingerprint: newFp, knownSecretFingerprint: oldFp },
        admin,
      );
      const newKey = keyRef(newFp);
      const missingOld = keyRef(oldFp);

      const fallback = await call(
        c.vault,
        c.vault.getValue,
        { storeId: id, key: newKey, previousKeys: [missingOld, oldKey] },
        admin,
      );
      expect(Buffer.from(fallback.entry?.keyId ?? []).equals(oldKey.keyId)).toBe(true);
      expect(Buffer.from(fallback.entry?.secretFingerprint ?? []).equals(oldFp)).toBe(true);
      expect(Buffer.from(fallback.entry?.sealedValue ?? []).toString()).toBe("sealed-under-old");

      await setValue(c, t.adminToken, id, newKey, Buffer.from("sealed-under-new"));
      const preferred = await call(
        c.vault,
        c.vault.getValue,
        { storeId: id, key: newKey, previousKeys: [oldKey] },
        admin,
      );
      expect(Buffer.from(preferred.entry?.sealedValue ?? []).toString()).toBe("sealed-under-new");

      const none = await call(
        c.vault,
        c.vault.getValue,
        { storeId: id, key: keyRef(newFp), previousKeys: [keyRef(oldFp)] },
        admin,
      );
      expect(none.entry).toBeUndefined();
    });

    it("SetValue with previous_keys replaces the old entry in the same write and keeps counts right", async () => {
      const id = await createStore(c, t.adminToken, uniqueStoreId());
      const oldFp = newFingerprint();
      const newFp = newFingerprint();
      const oldKey = keyRef(oldFp);
      await setValue(c, t.adminToken, id, oldKey, Buffer.from("0123456789"));
      const oldVersion = await setValue(c, t.adminToken, id, oldKey, Buffer.from("0123456789abc"));
      const otherVersion = await setValue(c, t.adminToken, id, keyRef(oldFp), Buffer.from("other"));

      // A new secret is accepted alongside a known previous one, and registered by the write.
      const newKey = keyRef(newFp);
      const res = await call(
        c.vault,
        c.vault.setValue,
        {
          storeId: id,
          key: newKey,
          sealedValue: Buffer.from("resealed!"),
          previousKeys: [oldKey],
          expectedVersion: BigInt(oldVersion),
        },
        admin,
      );
      // Versions are store-wide: the write takes the store's next number.
      expect(res.version).toBe(BigInt(otherVersion + 1));
      expect(await getValue(c, t.adminToken, id, oldKey)).toBeUndefined();
      const moved = (await getValue(c, t.adminToken, id, newKey)) as Entry;
      expect(moved.version).toBe(res.version);
      expect(Buffer.from(moved.sealedValue).toString()).toBe("resealed!");

      const store = await getStore(id);
      expect(store.entryCount).toBe(2n);
      expect(store.totalValueBytes).toBe(BigInt("resealed!".length + "other".length));
      expect(secretCounts(store)).toEqual({
        [oldFp.toString("hex")]: 1,
        [newFp.toString("hex")]: 1,
      });
      await expectCountsMatchContents(id);
    });

    it("versions are store-wide: the newest copy of an entry wins, whichever secret wrote it", async () => {
      const id = await createStore(c, t.adminToken, uniqueStoreId("newest"));
      const fpA = newFingerprint();
      const fpB = newFingerprint();
      const a = keyRef(fpA);
      const b = keyRef(fpB);
      const first = await setValue(c, t.adminToken, id, a, Buffer.from("first, under A"));
      await call(
        c.vault,
        c.vault.registerSecret,
        { storeId: id, secretFingerprint: fpB, knownSecretFingerprint: fpA },
        admin,
      );
      // Copies under two secrets (writers that did not name each other): never the same version.
      const second = await setValue(c, t.adminToken, id, b, Buffer.from("second, under B"));
      const third = await setValue(c, t.adminToken, id, a, Buffer.from("third, under A"));
      expect(first).toBeLessThan(second);
      expect(second).toBeLessThan(third);

      const read = async (key: typeof a, previous: (typeof a)[]) =>
        (await call(c.vault, c.vault.getValue, { storeId: id, key, previousKeys: previous }, admin))
          .entry as Entry;
      // The copy written last, not the one named first.
      expect(Buffer.from((await read(b, [a])).sealedValue).toString()).toBe("third, under A");
      expect((await read(a, [b])).version).toBe(BigInt(third));

      // A check-and-set against the older copy's version fails: the entry moved on.
      await expectStatus(
        call(
          c.vault,
          c.vault.setValue,
          {
            storeId: id,
            key: b,
            previousKeys: [a],
            sealedValue: Buffer.from("x"),
            expectedVersion: BigInt(second),
          },
          admin,
        ),
        status.ABORTED,
        "VERSION_CONFLICT",
      );
      const won = await call(
        c.vault,
        c.vault.setValue,
        {
          storeId: id,
          key: b,
          previousKeys: [a],
          sealedValue: Buffer.from("fourth"),
          expectedVersion: BigInt(third),
        },
        admin,
      );
      expect(won.version).toBeGreaterThan(BigInt(third));
      expect(await getValue(c, t.adminToken, id, a)).toBeUndefined();
    });

    it("DeleteValue removes the entry under key and previous keys, with check-and-delete", async () => {
      const id = await createStore(c, t.adminToken, uniqueStoreId());
      const fpA = newFingerprint();
      const fpB = newFingerprint();
      const a = keyRef(fpA);
      await setValue(c, t.adminToken, id, a, Buffer.from("A"));
      await call(
        c.vault,
        c.vault.registerSecret,
        { storeId: id, secretFingerprint: fpB, knownSecretFingerprint: fpA },
        admin,
      );
      const b = keyRef(fpB);
      const newestVersion = await setValue(c, t.adminToken, id, b, Buffer.from("B"));
      const del = (expectedVersion?: number) =>
        call(
          c.vault,
          c.vault.deleteValue,
          {
            storeId: id,
            key: b,
            previousKeys: [a],
            ...(expectedVersion === undefined ? {} : { expectedVersion: BigInt(expectedVersion) }),
          },
          admin,
        );

      // The entry's version is its newest copy's (b's): a's older version does not match.
      await expectStatus(del(1), status.ABORTED, "VERSION_CONFLICT");
      expect(await getValue(c, t.adminToken, id, b)).toBeDefined();
      expect((await del(newestVersion)).deleted).toBe(true);
      expect(await getValue(c, t.adminToken, id, a)).toBeUndefined();
      expect(await getValue(c, t.adminToken, id, b)).toBeUndefined();
      expect((await del()).deleted).toBe(false);
      const store = await getStore(id);
      expect(store.entryCount).toBe(0n);
      expect(store.totalValueBytes).toBe(0n);
      expect(secretCounts(store)).toEqual({ [fpA.toString("hex")]: 0, [fpB.toString("hex")]: 0 });
    });

    it("BatchGetValues returns found entries in request order, once each, leaving out missing ones", async () => {
      const id = await createStore(c, t.adminToken, uniqueStoreId());
      const fp = newFingerprint();
      const keys = [keyRef(fp), keyRef(fp), keyRef(fp)];
      for (const [i, key] of keys.entries()) {
        await setValue(c, t.adminToken, id, key, Buffer.from(`value-${i}`));
      }
      const [k0, k1, k2] = keys as [(typeof keys)[0], (typeof keys)[0], (typeof keys)[0]];
      const res = await call(
        c.vault,
        c.vault.batchGetValues,
        { storeId: id, keys: [k2, keyRef(fp), k0, k2, k1, k0] },
        admin,
      );
      expect(res.entries.map((e) => Buffer.from(e.sealedValue).toString())).toEqual([
        "value-2",
        "value-0",
        "value-1",
      ]);
      const none = await call(
        c.vault,
        c.vault.batchGetValues,
        { storeId: id, keys: [keyRef(fp)] },
        admin,
      );
      expect(none.entries).toEqual([]);
    });

    it("ListEntries pages in key id order, resumes after a key id, filters by fingerprint", async () => {
      const id = await createStore(c, t.adminToken, uniqueStoreId());
      const fpA = newFingerprint();
      const fpB = newFingerprint();
      const written: { keyId: Buffer; fp: Buffer }[] = [];
      for (let i = 0; i < 7; i++) {
        const key = keyRef(fpA);
        await setValue(c, t.adminToken, id, key, Buffer.from(`a${i}`));
        written.push({ keyId: key.keyId, fp: fpA });
      }
      await call(
        c.vault,
        c.vault.registerSecret,
        { storeId: id, secretFingerprint: fpB, knownSecretFingerprint: fpA },
        admin,
      );
      for (let i = 0; i < 3; i++) {
        const key = keyRef(fpB);
        await setValue(c, t.adminToken, id, key, Buffer.from(`b${i}`));
        written.push({ keyId: key.keyId, fp: fpB });
      }
      const ordered = [...written].sort((x, y) => Buffer.compare(x.keyId, y.keyId));
      const hex = (entries: Entry[]) => entries.map((e) => Buffer.from(e.keyId).toString("hex"));

      const pages = await listPages(c, { storeId: id, pageSize: 3n }, admin);
      expect(pages.map((p) => p.length)).toEqual([3, 3, 3, 1]);
      expect(hex(pages.flat())).toEqual(ordered.map((w) => w.keyId.toString("hex")));

      const all = await listPages(c, { storeId: id }, admin);
      expect(all).toHaveLength(1);
      expect(all[0]).toHaveLength(10);

      const cursor = ordered[4]?.keyId as Buffer;
      const rest = await listPages(
        c,
        { storeId: id, startAfterKeyId: cursor, pageSize: 4n },
        admin,
      );
      expect(hex(rest.flat())).toEqual(ordered.slice(5).map((w) => w.keyId.toString("hex")));

      const onlyB = await listPages(c, { storeId: id, secretFingerprints: [fpB] }, admin);
      expect(hex(onlyB.flat())).toEqual(
        ordered.filter((w) => w.fp.equals(fpB)).map((w) => w.keyId.toString("hex")),
      );
      const both = await listPages(c, { storeId: id, secretFingerprints: [fpA, fpB] }, admin);
      expect(both.flat()).toHaveLength(10);

      const empty = await createStore(c, t.adminToken, uniqueStoreId());
      expect(await listPages(c, { storeId: empty }, admin)).toEqual([]);
    });

    it("ListEntries splits a page of large values so every message fits a default 4 MiB gRPC client", async () => {
      const id = await createStore(c, t.adminToken, uniqueStoreId("big"), {
        maxValueBytes: 1024 * 1024,
      });
      const fp = newFingerprint();
      for (let i = 0; i < 6; i++) {
        await setValue(c, t.adminToken, id, keyRef(fp), Buffer.alloc(1024 * 1024, i + 1));
      }
      const pages = await listPages(c, { storeId: id }, admin);
      expect(pages.flat()).toHaveLength(6);
      expect(pages.length).toBeGreaterThan(1);
      for (const page of pages) {
        const bytes = page.reduce((sum, e) => sum + e.sealedValue.length, 0);
        expect(bytes).toBeLessThanOrEqual(3 * 1024 * 1024);
      }
    });

    it("RegisterSecret registers a first secret, then more only when guarded by a known one; idempotent", async () => {
      const id = await createStore(c, t.adminToken, uniqueStoreId());
      const fpA = newFingerprint();
      const fpB = newFingerprint();
      const first = await call(
        c.vault,
        c.vault.registerSecret,
        { storeId: id, secretFingerprint: fpA, knownSecretFingerprint: Buffer.alloc(0) },
        admin,
      );
      expect(first.store?.secrets.map((s) => Buffer.from(s.fingerprint).toString("hex"))).toEqual([
        fpA.toString("hex"),
      ]);
      const second = await call(
        c.vault,
        c.vault.registerSecret,
        { storeId: id, secretFingerprint: fpB, knownSecretFingerprint: fpA },
        admin,
      );
      expect(second.store?.secrets.map((s) => Buffer.from(s.fingerprint).toString("hex"))).toEqual([
        fpA.toString("hex"),
        fpB.toString("hex"),
      ]);
      expect(second.store?.secrets[0]?.registerTime).toBeInstanceOf(Date);
      const again = await call(
        c.vault,
        c.vault.registerSecret,
        { storeId: id, secretFingerprint: fpB, knownSecretFingerprint: Buffer.alloc(0) },
        admin,
      );
      expect(again.store?.secrets).toHaveLength(2);
    });

    it("RetireSecret refuses while entries remain under the secret (SECRET_IN_USE), then forgets it", async () => {
      const id = await createStore(c, t.adminToken, uniqueStoreId());
      const fpA = newFingerprint();
      const fpB = newFingerprint();
      const a = keyRef(fpA);
      await setValue(c, t.adminToken, id, a, Buffer.from("under A"));
      await call(
        c.vault,
        c.vault.registerSecret,
        { storeId: id, secretFingerprint: fpB, knownSecretFingerprint: fpA },
        admin,
      );
      const retire = () =>
        call(c.vault, c.vault.retireSecret, { storeId: id, secretFingerprint: fpA }, admin);
      await expectStatus(retire(), status.FAILED_PRECONDITION, "SECRET_IN_USE");

      // Re-seal under B, removing the entry under A in the same write.
      await call(
        c.vault,
        c.vault.setValue,
        { storeId: id, key: keyRef(fpB), sealedValue: Buffer.from("under B"), previousKeys: [a] },
        admin,
      );
      const retired = await retire();
      expect(retired.store?.secrets.map((s) => Buffer.from(s.fingerprint).toString("hex"))).toEqual(
        [fpB.toString("hex")],
      );
      // A retired secret is unknown from then on.
      await expectStatus(
        getValue(c, t.adminToken, id, keyRef(fpA)),
        status.FAILED_PRECONDITION,
        "UNKNOWN_SECRET",
      );
      // Retiring an unknown secret changes nothing.
      const noop = await retire();
      expect(noop.store?.secrets).toHaveLength(1);
    });
  });

  describe("AdminService", () => {
    it("CreateStore honours max_value_bytes and the description; GetStore and ListStores return it", async () => {
      const id = uniqueStoreId("small");
      const created = await call(
        c.admin,
        c.admin.createStore,
        { storeId: id, description: "tiny values", maxValueBytes: 1024n },
        admin,
      );
      expect(created.store).toMatchObject({
        id,
        description: "tiny values",
        maxValueBytes: 1024,
        entryCount: 0n,
      });
      const fp = newFingerprint();
      await setValue(c, t.adminToken, id, keyRef(fp), Buffer.alloc(1024, 1));
      await expectStatus(
        setValue(c, t.adminToken, id, keyRef(fp), Buffer.alloc(1025, 1)),
        status.INVALID_ARGUMENT,
        "VALUE_TOO_LARGE",
      );
      const got = await getStore(id);
      expect(got).toMatchObject({
        id,
        maxValueBytes: 1024,
        entryCount: 1n,
        totalValueBytes: 1024n,
      });
      expect(Buffer.from(got.salt).equals(Buffer.from(created.store?.salt ?? []))).toBe(true);

      const listed = await call(c.admin, c.admin.listStores, {}, admin);
      const ids = listed.stores.map((s) => s.id);
      expect(ids).toContain(id);
      expect(ids).toEqual([...ids].sort());
      expect(listed.stores.find((s) => s.id === id)).toMatchObject({ entryCount: 1n });
    });

    it("store counts stay right across sets, overwrites, replaces and deletes", async () => {
      const id = await createStore(c, t.adminToken, uniqueStoreId());
      const fpA = newFingerprint();
      const fpB = newFingerprint();
      const keys = Array.from({ length: 5 }, () => keyRef(fpA));
      for (const [i, key] of keys.entries()) {
        await setValue(c, t.adminToken, id, key, randomBytes(10 + i));
      }
      await expectCountsMatchContents(id);
      expect(await getStore(id)).toMatchObject({
        entryCount: 5n,
        totalValueBytes: BigInt(10 + 11 + 12 + 13 + 14),
      });

      await setValue(c, t.adminToken, id, keys[0] as (typeof keys)[0], randomBytes(100));
      await expectCountsMatchContents(id);

      await call(
        c.vault,
        c.vault.setValue,
        {
          storeId: id,
          key: keyRef(fpB),
          sealedValue: randomBytes(7),
          previousKeys: [keys[1] as (typeof keys)[0]],
        },
        admin,
      );
      await expectCountsMatchContents(id);

      await call(
        c.vault,
        c.vault.deleteValue,
        { storeId: id, key: keys[2] as (typeof keys)[0], previousKeys: [] },
        admin,
      );
      await call(
        c.vault,
        c.vault.deleteValue,
        { storeId: id, key: keyRef(fpA), previousKeys: [] },
        admin,
      );
      await expectCountsMatchContents(id);
      const store = await getStore(id);
      expect(store.entryCount).toBe(4n);
      expect(secretCounts(store)).toEqual({ [fpA.toString("hex")]: 3, [fpB.toString("hex")]: 1 });

      const desc = await call(c.vault, c.vault.describeStore, { storeId: id }, admin);
      expect(desc.store).toMatchObject({ entryCount: 4n, totalValueBytes: store.totalValueBytes });
    });

    it("DeleteStore reports the entries it held; the id is then free and a re-created store is a new one", async () => {
      const id = await createStore(c, t.adminToken, uniqueStoreId());
      const before = await getStore(id);
      const fp = newFingerprint();
      const key = keyRef(fp);
      await setValue(c, t.adminToken, id, key, Buffer.from("x"));
      await setValue(c, t.adminToken, id, keyRef(fp), Buffer.from("y"));

      const res = await call(c.admin, c.admin.deleteStore, { storeId: id }, admin);
      expect(res.deletedEntryCount).toBe(2n);
      await expectStatus(getStore(id), status.NOT_FOUND, "STORE_NOT_FOUND");
      await expectStatus(getValue(c, t.adminToken, id, key), status.NOT_FOUND, "STORE_NOT_FOUND");
      const listed = await call(c.admin, c.admin.listStores, {}, admin);
      expect(listed.stores.map((s) => s.id)).not.toContain(id);

      await createStore(c, t.adminToken, id);
      const again = await getStore(id);
      expect(again.entryCount).toBe(0n);
      expect(again.secrets).toEqual([]);
      expect(Buffer.from(again.salt).equals(Buffer.from(before.salt))).toBe(false);
      expect(await getValue(c, t.adminToken, id, key)).toBeUndefined();
    });

    it("CreateToken makes admin tokens and per-store read / write tokens that work as granted", async () => {
      const id = await createStore(c, t.adminToken, uniqueStoreId());
      const fp = newFingerprint();
      const key = keyRef(fp);

      const adminTok = await createToken(c, t.adminToken, "admin", "ops");
      expect(adminTok.secret).toMatch(/^hxk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
      expect(adminTok.secret).toContain(adminTok.id);
      await call(c.admin, c.admin.listStores, {}, bearer(adminTok.secret));

      const writer = await createToken(c, t.adminToken, [
        { storeId: id, read: false, write: true },
      ]);
      const reader = await createToken(c, t.adminToken, [
        { storeId: id, read: true, write: false },
      ]);
      const both = await createToken(c, t.adminToken, [
        { storeId: id, read: true, write: true },
        { storeId: "granted-before-it-exists", read: true, write: false },
      ]);

      expect(await setValue(c, writer.secret, id, key, Buffer.from("w"))).toBe(1);
      expect(
        Buffer.from((await getValue(c, reader.secret, id, key))?.sealedValue ?? []).toString(),
      ).toBe("w");
      expect(await setValue(c, both.secret, id, key, Buffer.from("b"))).toBe(2);
      expect((await getValue(c, both.secret, id, key))?.version).toBe(2n);
      await expectStatus(
        getValue(c, writer.secret, id, key),
        status.PERMISSION_DENIED,
        "PERMISSION_DENIED",
      );

      const res = await call(
        c.admin,
        c.admin.createToken,
        { name: "pair", admin: false, grants: [{ storeId: id, read: true, write: true }] },
        admin,
      );
      expect(res.token).toMatchObject({
        name: "pair",
        admin: false,
        grants: [{ storeId: id, read: true, write: true }],
      });
      expect(res.token?.createTime).toBeInstanceOf(Date);
      expect(res.token?.revokeTime).toBeUndefined();
    });

    it("ListTokens lists public records oldest first; RevokeToken revokes; include_revoked shows it", async () => {
      const id = await createStore(c, t.adminToken, uniqueStoreId());
      const first = await createToken(
        c,
        t.adminToken,
        [{ storeId: id, read: true, write: false }],
        "first",
      );
      const second = await createToken(c, t.adminToken, "admin", "second");

      const listed = await call(c.admin, c.admin.listTokens, { includeRevoked: false }, admin);
      const ids = listed.tokens.map((tok) => tok.id);
      expect(ids.indexOf(first.id)).toBeGreaterThanOrEqual(0);
      expect(ids.indexOf(first.id)).toBeLessThan(ids.indexOf(second.id));
      // Public records only: the secret never comes back.
      expect(JSON.stringify(listed)).not.toContain(first.secret.slice(-43));

      // Using a token records it (at most once a minute).
      await call(c.vault, c.vault.describeStore, { storeId: id }, bearer(first.secret));

      const revoked = await call(c.admin, c.admin.revokeToken, { tokenId: first.id }, admin);
      expect(revoked.token?.id).toBe(first.id);
      expect(revoked.token?.revokeTime).toBeInstanceOf(Date);
      await expectStatus(
        call(c.vault, c.vault.describeStore, { storeId: id }, bearer(first.secret)),
        status.UNAUTHENTICATED,
        "TOKEN_REVOKED",
      );
      // Revoking twice changes nothing.
      const twice = await call(c.admin, c.admin.revokeToken, { tokenId: first.id }, admin);
      expect(twice.token?.revokeTime?.getTime()).toBe(revoked.token?.revokeTime?.getTime());

      const live = await call(c.admin, c.admin.listTokens, { includeRevoked: false }, admin);
      expect(live.tokens.map((tok) => tok.id)).not.toContain(first.id);
      expect(live.tokens.map((tok) => tok.id)).toContain(second.id);
      const withRevoked = await call(c.admin, c.admin.listTokens, { includeRevoked: true }, admin);
      const record = withRevoked.tokens.find((tok) => tok.id === first.id);
      expect(record).toMatchObject({ name: "first", admin: false });
      expect(record?.revokeTime).toBeInstanceOf(Date);
      expect(record?.lastUseTime).toBeInstanceOf(Date);
      expect(record?.grants).toEqual([{ storeId: id, read: true, write: false }]);
    });
  });

  describe("key ids are opaque", () => {
    it("any 32 bytes work as a key id, including all zeros and all ones", async () => {
      const id = await createStore(c, t.adminToken, uniqueStoreId());
      const fp = newFingerprint();
      for (const keyId of [Buffer.alloc(32, 0), Buffer.alloc(32, 0xff), newKeyId()]) {
        await setValue(c, t.adminToken, id, keyRef(fp, keyId), keyId);
        const entry = await getValue(c, t.adminToken, id, keyRef(fp, keyId));
        expect(Buffer.from(entry?.sealedValue ?? []).equals(keyId)).toBe(true);
      }
    });
  });
});
