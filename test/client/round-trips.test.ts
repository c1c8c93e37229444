import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DataVaultStore, generateSecret } from "../../src/client/index.js";
import { type ClientFixture, startClientFixture } from "./support/client-fixture.js";

let f: ClientFixture;
let store: DataVaultStore;
const secret = generateSecret();

beforeAll(async () => {
  f = await startClientFixture();
  await f.createStore("round-trips");
  store = await f.client().getDataVaultStore("round-trips");
});
afterAll(() => f.close());

describe("the headline API", () => {
  it("stores, reads and deletes a string", async () => {
    await store.setValue("gh:1", "gho_refresh_1", { secret });
    expect(await store.getValue("gh:1", { secret })).toBe("gho_refresh_1");
    expect(await store.deleteValue("gh:1", { secret })).toBe(true);
    expect(await store.getValue("gh:1", { secret })).toBeNull();
  });

  it("reads null for a key never written, and deleting it says false", async () => {
    expect(await store.getValue("never-written", { secret })).toBeNull();
    expect(await store.deleteValue("never-written", { secret })).toBe(false);
  });

  it("round-trips text that is not ASCII, the empty string, a leading BOM, and a long value", async () => {
    const values = ["", "héllo wörld ✓ 🗝️", "\uFEFFstarts with a BOM", "x".repeat(60_000)];
    for (const [i, value] of values.entries()) {
      await store.setValue(`text:${i}`, value, { secret });
      expect(await store.getValue(`text:${i}`, { secret })).toBe(value);
    }
  });

  it("keeps key names apart however similar they look", async () => {
    await store.setValue("é", "precomposed", { secret });
    await store.setValue("e\u0301", "decomposed", { secret });
    expect(await store.getValue("é", { secret })).toBe("precomposed");
    expect(await store.getValue("e\u0301", { secret })).toBe("decomposed");
  });
});

describe("bytes", () => {
  it("returns bytes as a Uint8Array when asked, whatever was stored", async () => {
    const bytes = new Uint8Array([0, 255, 1, 254, 0xc3, 0x28]);
    await store.setValue("bin:1", bytes, { secret });
    const back = await store.getValue("bin:1", { secret, as: "bytes" });
    expect(back).toBeInstanceOf(Uint8Array);
    expect([...(back as Uint8Array)]).toEqual([...bytes]);

    await store.setValue("bin:text", "plain", { secret });
    const asBytes = await store.getValue("bin:text", { secret, as: "bytes" });
    expect(Buffer.from(asBytes as Uint8Array).toString("utf8")).toBe("plain");
  });

  it("reads bytes that are UTF-8 as text, and refuses to mangle bytes that are not", async () => {
    await store.setValue("bin:utf8", Buffer.from("tok_✓", "utf8"), { secret });
    expect(await store.getValue("bin:utf8", { secret })).toBe("tok_✓");
    // A leading U+FEFF in bytes read as text is data, not a marker to drop.
    await store.setValue("bin:bom", Buffer.from("\uFEFFtok", "utf8"), { secret });
    expect(await store.getValue("bin:bom", { secret })).toBe("\uFEFFtok");
    await store.setValue("bin:raw", new Uint8Array([0xff, 0xfe]), { secret });
    await expect(store.getValue("bin:raw", { secret })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringContaining('{ as: "bytes" }'),
    });
  });
});

describe("versions and check-and-set", () => {
  it("versions grow with every write in the store and read back with getEntry", async () => {
    const { version: a } = await store.setValue("cas:1", "a", { secret });
    const { version: b } = await store.setValue("cas:1", "b", { secret });
    expect(b).toBeGreaterThan(a);
    expect(await store.getEntry("cas:1", { secret })).toMatchObject({ value: "b", version: b });
    // Versions are store-wide: a write to another entry takes a number too.
    const { version: other } = await store.setValue("cas:other", "x", { secret });
    const { version: c } = await store.setValue("cas:1", "c", { secret });
    expect(other).toBeGreaterThan(b);
    expect(c).toBeGreaterThan(other);
    expect(await store.getEntry("cas:absent", { secret })).toBeNull();
  });

  it("getEntry tells when the value was written, by the writer's clock, sealed with it", async () => {
    const before = Date.now();
    const { version } = await store.setValue("when:1", "v", { secret });
    const after = Date.now();
    const entry = await store.getEntry("when:1", { secret, as: "bytes" });
    expect(entry?.version).toBe(version);
    expect(entry?.writtenAt).toBeInstanceOf(Date);
    expect(entry?.writtenAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(entry?.writtenAt.getTime()).toBeLessThanOrEqual(after);
    // A later write is a later time; reading again does not change it.
    while (Date.now() <= (entry?.writtenAt.getTime() as number)) {} // at most a millisecond
    await store.setValue("when:1", "w", { secret });
    const rewritten = await store.getEntry("when:1", { secret });
    expect(rewritten?.writtenAt.getTime()).toBeGreaterThan(entry?.writtenAt.getTime() as number);
    expect((await store.getEntry("when:1", { secret }))?.writtenAt).toEqual(rewritten?.writtenAt);
  });

  it("seals a given writtenAt (a value written again, not a new one), and refuses an invalid one", async () => {
    const original = new Date("2025-03-01T12:00:00.000Z");
    await store.setValue("when:restored", "old value", { secret, writtenAt: original });
    expect((await store.getEntry("when:restored", { secret }))?.writtenAt).toEqual(original);
    await expect(
      store.setValue("when:bad", "v", { secret, writtenAt: new Date(Number.NaN) }),
    ).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringContaining("writtenAt"),
    });
  });

  it("says whether a value was stored as text or bytes, whatever it is read as", async () => {
    await store.setValue("kind:text", "abc", { secret });
    await store.setValue("kind:bytes", new TextEncoder().encode("abc"), { secret });
    expect((await store.getEntry("kind:text", { secret, as: "bytes" }))?.storedAs).toBe("text");
    expect((await store.getEntry("kind:bytes", { secret }))?.storedAs).toBe("bytes");
    const listed = new Map<string, string>();
    for await (const e of store.entries({ secret, as: "bytes" })) listed.set(e.key, e.storedAs);
    expect(listed.get("kind:text")).toBe("text");
    expect(listed.get("kind:bytes")).toBe("bytes");
  });

  it("writes with ifVersion only from that version, and ifVersion 0 only if absent", async () => {
    const { version: first } = await store.setValue("cas:2", "first", { secret, ifVersion: 0 });
    const lost = await store.setValue("cas:2", "again", { secret, ifVersion: 0 }).catch((e) => e);
    expect(lost).toMatchObject({ code: "VERSION_CONFLICT", name: "VersionConflictError" });
    expect(lost.currentVersion).toBe(first);
    const { version: second } = await store.setValue("cas:2", "second", {
      secret,
      ifVersion: first,
    });
    expect(second).toBeGreaterThan(first);
    await expect(
      store.setValue("cas:2", "stale", { secret, ifVersion: first }),
    ).rejects.toMatchObject({ code: "VERSION_CONFLICT" });
    expect(await store.getValue("cas:2", { secret })).toBe("second");
  });

  it("deletes with ifVersion only at that version", async () => {
    const { version } = await store.setValue("cas:3", "v", { secret });
    await expect(
      store.deleteValue("cas:3", { secret, ifVersion: version + 1 }),
    ).rejects.toMatchObject({ code: "VERSION_CONFLICT" });
    expect(await store.deleteValue("cas:3", { secret, ifVersion: version })).toBe(true);
  });
});

describe("getValues", () => {
  it("returns found keys in the order asked, leaving missing ones out", async () => {
    await store.setValue("many:a", "A", { secret });
    await store.setValue("many:c", "C", { secret });
    const got = await store.getValues(["many:c", "many:b", "many:a", "many:c"], { secret });
    expect([...got]).toEqual([
      ["many:c", "C"],
      ["many:a", "A"],
    ]);
    expect(await store.getValues([], { secret })).toEqual(new Map());
  });

  it("reads more keys than one call may carry", async () => {
    const names = Array.from({ length: 1200 }, (_, i) => `bulk:${i}`);
    await Promise.all(names.slice(0, 30).map((n) => store.setValue(n, `v-${n}`, { secret })));
    const got = await store.getValues(names, { secret });
    expect(got.size).toBe(30);
    expect(got.get("bulk:29")).toBe("v-bulk:29");
  });
});

describe("entries", () => {
  it("lists and opens every entry under the secret, with names recovered locally", async () => {
    await f.createStore("listing");
    const listing = await f.client().getDataVaultStore("listing");
    const written = new Map(Array.from({ length: 40 }, (_, i) => [`user:${i}`, `token-${i}`]));
    const versions = new Map<string, number>();
    for (const [k, v] of written)
      versions.set(k, (await listing.setValue(k, v, { secret })).version);
    versions.set("user:0", (await listing.setValue("user:0", "token-0b", { secret })).version);
    written.set("user:0", "token-0b");

    const seen = new Map<string, string>();
    for await (const entry of listing.entries({ secret, pageSize: 7 })) {
      const { key, value, version, writtenAt } = entry;
      seen.set(key, value);
      expect(version).toBe(versions.get(key));
      expect(writtenAt).toEqual((await listing.getEntry(key, { secret }))?.writtenAt);
    }
    expect(seen).toEqual(written);
  });

  it("stops the stream when the loop ends early", async () => {
    await f.createStore("early-stop");
    const early = await f.client().getDataVaultStore("early-stop");
    for (let i = 0; i < 9; i++) await early.setValue(`k:${i}`, `v${i}`, { secret });
    let n = 0;
    for await (const _ of early.entries({ secret, pageSize: 2 })) {
      if (++n === 3) break;
    }
    expect(n).toBe(3);
    expect(await early.getValue("k:0", { secret })).toBe("v0");
  });

  it("refuses to list bytes that are not text as text, and lists them as bytes", async () => {
    await f.createStore("mixed");
    const mixed = await f.client().getDataVaultStore("mixed");
    await mixed.setValue("text", "plain", { secret });
    await mixed.setValue("binary", new Uint8Array([0xc3, 0x28]), { secret });
    const listAll = async (as?: "bytes"): Promise<number> => {
      let n = 0;
      for await (const _ of mixed.entries({ secret, ...(as === undefined ? {} : { as }) })) n++;
      return n;
    };
    await expect(listAll()).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.stringContaining('{ as: "bytes" }'),
    });
    expect(await listAll("bytes")).toBe(2);
  });
});
