import { setTimeout as sleep } from "node:timers/promises";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type DataVaultStore, generateSecret, HexclaveError } from "../../src/client/index.js";
import { inspectStorage } from "../../src/storage/inspect-storage.js";
import { type ClientFixture, startClientFixture } from "../client/support/client-fixture.js";
import { forEachBackend } from "../support/backends.js";
import { bearer, call, expectStatus } from "../support/grpc-clients.js";
import { keyRef, newFingerprint } from "../support/vault-fixtures.js";

/**
 * Expiring entries (setValue's `expiresIn` / `expiresAt`): from the moment it
 * expires, by the server's clock, an entry reads as null on every read path,
 * is never listed, counts nowhere and cannot be check-and-set at its old
 * version, even before the sweeper deletes its row; the sweeper then deletes
 * it, in bounded batches, under load and after a restart. Once per backend.
 */

const secret = generateSecret();
const NEVER = 3_600_000; // a sweep interval that never comes during a test

/** Every row of a store, expired or not, as the database holds it. */
async function rowsOf(
  storage: { dataDir: string; databaseUrl: string | undefined },
  storeId: string,
): Promise<number> {
  const db = await inspectStorage(storage);
  try {
    const store = await db.reads.findStore(storeId);
    if (store === undefined) throw new Error(`no store ${storeId}`);
    const rows = await db.reads.listEntries(store.uid, {
      fingerprints: [],
      afterKeyId: undefined,
      limit: 1_000_000,
      now: 0,
    });
    return rows.length;
  } finally {
    await db.close();
  }
}

async function untilPast(at: Date): Promise<void> {
  const wait = at.getTime() - Date.now() + 5;
  if (wait > 0) await sleep(wait);
}

forEachBackend((backend) => {
  let storage: { dataDir: string; databaseUrl: string | undefined };
  let f: ClientFixture;
  let store: DataVaultStore;

  /** The store as an admin sees it: from GetStore and from ListStores. */
  async function counts(
    storeId: string,
  ): Promise<{ entries: number; bytes: number; listed: number }> {
    const admin = bearer(f.server.adminToken);
    const got = (await call(f.raw.admin, f.raw.admin.getStore, { storeId }, admin)).store;
    const all = (await call(f.raw.admin, f.raw.admin.listStores, {}, admin)).stores;
    const secretSum = (got?.secrets ?? []).reduce((n, s) => n + Number(s.entryCount), 0);
    expect(secretSum).toBe(Number(got?.entryCount));
    return {
      entries: Number(got?.entryCount),
      bytes: Number(got?.totalValueBytes),
      listed: Number(all.find((s) => s.id === storeId)?.entryCount),
    };
  }

  beforeAll(async () => {
    storage = await backend.fresh();
    f = await startClientFixture({ ...storage, sweepIntervalMs: NEVER });
    await f.createStore("expiring");
    store = await f.client().getDataVaultStore("expiring");
  });
  afterAll(() => f?.close());

  it("reads the value until the expiry time and null from then on, on every read path, before any sweep", async () => {
    await store.setValue("keep", "stays", { secret });
    const before = await counts("expiring");
    const expiresAt = new Date(Date.now() + 1_500);
    const { version } = await store.setValue("gh-access:1", "short-lived", { secret, expiresAt });

    const entry = await store.getEntry("gh-access:1", { secret });
    expect(entry?.value).toBe("short-lived");
    expect(entry?.expiresAt?.getTime()).toBe(expiresAt.getTime());
    expect((await store.getEntry("keep", { secret }))?.expiresAt).toBeNull();
    expect((await counts("expiring")).entries).toBe(before.entries + 1);

    await untilPast(expiresAt);
    expect(await store.getValue("gh-access:1", { secret })).toBeNull();
    expect(await store.getEntry("gh-access:1", { secret })).toBeNull();
    const many = await store.getValues(["gh-access:1", "keep"], { secret });
    expect([...many.keys()]).toEqual(["keep"]);
    const listed: string[] = [];
    for await (const e of store.entries({ secret })) listed.push(e.key);
    expect(listed).not.toContain("gh-access:1");
    expect(listed).toContain("keep");

    // Counts leave it out already; the row is still there, waiting for the sweeper.
    expect(await counts("expiring")).toEqual(before);
    expect(await rowsOf(storage, "expiring")).toBe(before.entries + 1);

    // It cannot be changed at its old version, and deleting it finds nothing.
    await expect(
      store.setValue("gh-access:1", "revived", { secret, ifVersion: version }),
    ).rejects.toMatchObject({ code: "VERSION_CONFLICT" });
    expect(await store.deleteValue("gh-access:1", { secret })).toBe(false);
    // But "only if absent" holds: it is absent.
    await store.setValue("gh-access:1", "new life", { secret, ifVersion: 0 });
    const reborn = await store.getEntry("gh-access:1", { secret });
    expect(reborn?.value).toBe("new life");
    expect(reborn?.expiresAt).toBeNull();
  });

  it("takes a relative lifetime from the server's clock, and a plain overwrite makes the entry permanent", async () => {
    const sent = Date.now();
    await store.setValue("ttl", "an hour", { secret, expiresIn: 3_600_000 });
    const entry = await store.getEntry("ttl", { secret });
    const at = entry?.expiresAt?.getTime() ?? 0;
    expect(at).toBeGreaterThanOrEqual(sent + 3_600_000);
    expect(at).toBeLessThan(Date.now() + 3_600_000 + 1);
    await store.setValue("ttl", "forever", { secret });
    expect((await store.getEntry("ttl", { secret }))?.expiresAt).toBeNull();
  });

  it("keeps an entry's expiry through a secret rotation", async () => {
    const rotating = "expiring-rotation";
    await f.createStore(rotating);
    const s = await f.client().getDataVaultStore(rotating);
    const expiresAt = new Date(Date.now() + 3_600_000);
    await s.setValue("a", "1", { secret, expiresAt });
    await s.setValue("b", "2", { secret });
    const next = generateSecret();
    await s.rotateSecret({ from: secret, to: next });
    expect((await s.getEntry("a", { secret: next }))?.expiresAt?.getTime()).toBe(
      expiresAt.getTime(),
    );
    expect((await s.getEntry("b", { secret: next }))?.expiresAt).toBeNull();
  });

  it("refuses a lifetime that is not one, naming the field, and stores nothing", async () => {
    const bad: [string, Parameters<DataVaultStore["setValue"]>[2]][] = [
      ["zero", { secret, expiresIn: 0 }],
      ["negative", { secret, expiresIn: -5 }],
      ["fractional", { secret, expiresIn: 1.5 }],
      ["both", { secret, expiresIn: 1000, expiresAt: new Date(Date.now() + 1000) }],
      ["invalid date", { secret, expiresAt: new Date(Number.NaN) }],
    ];
    for (const [name, options] of bad) {
      const error = await store.setValue(`bad:${name}`, "x", options).catch((e: unknown) => e);
      expect(error, name).toBeInstanceOf(HexclaveError);
      expect((error as HexclaveError).code, name).toBe("INVALID_ARGUMENT");
    }
    // Past times are judged by the server's clock: the server refuses them.
    const past = await store
      .setValue("bad:past", "x", { secret, expiresAt: new Date(Date.now() - 1000) })
      .catch((e: unknown) => e as HexclaveError);
    expect(past).toMatchObject({ code: "INVALID_ARGUMENT", metadata: { field: "expire_time" } });
    expect((past as HexclaveError).message).toMatch(/in the future/);
    for (const [name] of [...bad, ["past"]]) {
      expect(await store.getValue(`bad:${name}`, { secret })).toBeNull();
    }
  });

  it("answers INVALID_ARGUMENT for a malformed ttl or expire_time on the wire", async () => {
    const admin = bearer(f.server.adminToken);
    const fp = newFingerprint();
    const base = {
      storeId: "expiring",
      key: keyRef(fp),
      sealedValue: Buffer.alloc(64, 1),
      previousKeys: [],
    };
    const cases = [
      { ttl: { seconds: -1n, nanos: 0 } },
      { ttl: { seconds: 0n, nanos: -1 } },
      { ttl: { seconds: 1n, nanos: 1_000_000_000 } },
      { ttl: { seconds: 10n ** 15n, nanos: 0 } },
      { ttl: { seconds: 0n, nanos: 0 } },
      { expireTime: new Date(0) },
      { ttl: { seconds: 60n, nanos: 0 }, expireTime: new Date(Date.now() + 60_000) },
    ];
    for (const extra of cases) {
      await expectStatus(
        call(f.raw.vault, f.raw.vault.setValue, { ...base, ...extra }, admin),
        status.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
      );
    }
  });

  it("a token with a ttl works until it expires, then is refused as TOKEN_EXPIRED", async () => {
    const admin = bearer(f.server.adminToken);
    const created = await call(
      f.raw.admin,
      f.raw.admin.createToken,
      {
        name: "short",
        admin: false,
        grants: [{ storeId: "expiring", read: true, write: false }],
        ttl: { seconds: 2n, nanos: 0 },
      },
      admin,
    );
    const expireTime = created.token?.expireTime;
    expect(expireTime).toBeInstanceOf(Date);
    const short = bearer(created.secret);
    await call(f.raw.vault, f.raw.vault.describeStore, { storeId: "expiring" }, short);
    await untilPast(expireTime as Date);
    await expectStatus(
      call(f.raw.vault, f.raw.vault.describeStore, { storeId: "expiring" }, short),
      status.UNAUTHENTICATED,
      "TOKEN_EXPIRED",
    );
    for (const ttl of [
      { seconds: 0n, nanos: 0 },
      { seconds: -60n, nanos: 0 },
      { seconds: 400n * 365n * 86_400n, nanos: 0 },
    ]) {
      await expectStatus(
        call(
          f.raw.admin,
          f.raw.admin.createToken,
          { name: "bad", admin: true, grants: [], ttl },
          admin,
        ),
        status.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
      );
    }
    const listed = await call(
      f.raw.admin,
      f.raw.admin.listTokens,
      { includeRevoked: false },
      admin,
    );
    const row = listed.tokens.find((t) => t.id === created.token?.id);
    expect(row?.expireTime?.getTime()).toBe((expireTime as Date).getTime());
  });
});

forEachBackend((backend) => {
  it("the sweeper deletes expired rows in bounded batches while other writes go on, and after a restart", async () => {
    const storage = await backend.fresh();
    let f = await startClientFixture({ ...storage, sweepIntervalMs: 50 });
    try {
      await f.createStore("swept");
      let store = await f.client().getDataVaultStore("swept");
      const lasting: string[] = [];
      const short = Array.from({ length: 1_200 }, (_, i) => `short:${i}`);
      // Writers that keep going while the sweeper works through a backlog.
      let writing = true;
      const writer = (async () => {
        for (let i = 0; writing; i++) {
          await store.setValue(`keep:${i}`, `v${i}`, { secret });
          lasting.push(`keep:${i}`);
        }
      })();
      for (let i = 0; i < short.length; i += 100) {
        await Promise.all(
          short
            .slice(i, i + 100)
            .map((k) => store.setValue(k, "gone soon", { secret, expiresIn: 300 })),
        );
      }
      const deadline = Date.now() + 20_000;
      while ((await rowsOf(storage, "swept")) > lasting.length + 1 && Date.now() < deadline) {
        await sleep(100);
      }
      writing = false;
      await writer;
      expect(await rowsOf(storage, "swept")).toBe(lasting.length);
      const kept = await store.getValues(lasting, { secret });
      expect(kept.size).toBe(lasting.length);
      const described = await call(
        f.raw.vault,
        f.raw.vault.describeStore,
        { storeId: "swept" },
        bearer(f.server.adminToken),
      );
      expect(Number(described.store?.entryCount)).toBe(lasting.length);

      // Expiry outlives a restart: written, server stopped, expired while down, swept after.
      await store.setValue("across-restart", "x", { secret, expiresIn: 400 });
      await f.close();
      await sleep(500);
      f = await startClientFixture({ ...storage, sweepIntervalMs: 50 });
      store = await f.client().getDataVaultStore("swept");
      expect(await store.getValue("across-restart", { secret })).toBeNull();
      const until = Date.now() + 10_000;
      while ((await rowsOf(storage, "swept")) > lasting.length && Date.now() < until) {
        await sleep(50);
      }
      expect(await rowsOf(storage, "swept")).toBe(lasting.length);
    } finally {
      await f.close();
    }
  }, 60_000);
});
