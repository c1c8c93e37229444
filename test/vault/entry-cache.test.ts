import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { EntryCache } from "../../src/vault/entry-cache.js";
import type { EntryView } from "../../src/vault/views.js";

const uid = randomBytes(16);
const NOW = Date.now();
const entry = (
  keyId: Buffer,
  version: number,
  bytes = 345,
  expiresAt: number | null = null,
): EntryView => ({
  keyId,
  fingerprint: Buffer.alloc(8, 1),
  sealedValue: Buffer.alloc(bytes, version),
  version,
  updatedAt: version,
  expiresAt,
});

describe("EntryCache", () => {
  it("serves what reads loaded, refreshed by writes, and forgets what writes removed", () => {
    const cache = new EntryCache(1 << 20);
    const a = randomBytes(32);
    const b = randomBytes(32);
    cache.offer(uid, entry(a, 1), cache.epoch);
    cache.offer(uid, entry(b, 1), cache.epoch);
    expect(cache.get(uid, a, NOW)?.version).toBe(1);
    expect(cache.get(uid, a, NOW)?.sealedValue).toEqual(entry(a, 1).sealedValue);
    cache.written(uid, entry(b, 2), [a]);
    expect(cache.get(uid, a, NOW)).toBeUndefined();
    expect(cache.get(uid, b, NOW)?.version).toBe(2);
    cache.written(uid, undefined, [b]);
    expect(cache.get(uid, b, NOW)).toBeUndefined();
  });

  it("a write does not add an entry it was not holding (bulk writes keep the read set)", () => {
    const cache = new EntryCache(1 << 20);
    const k = randomBytes(32);
    cache.written(uid, entry(k, 1), []);
    expect(cache.get(uid, k, NOW)).toBeUndefined();
    expect(cache.bytes).toBe(0);
  });

  it("a slow read cannot put back a value that a write replaced while it was loading", () => {
    const cache = new EntryCache(1 << 20);
    const k = randomBytes(32);
    cache.offer(uid, entry(k, 1), cache.epoch);
    const epoch = cache.epoch; // read starts, loads version 1 from the database…
    cache.written(uid, entry(k, 2), []); // …a write is acknowledged meanwhile…
    cache.offer(uid, entry(k, 1), epoch); // …the read offers what it loaded.
    expect(cache.get(uid, k, NOW)?.version).toBe(2);

    const cold = randomBytes(32); // the same race on an entry the cache did not hold
    const before = cache.epoch;
    cache.written(uid, entry(cold, 2), []);
    cache.offer(uid, entry(cold, 1), before);
    expect(cache.get(uid, cold, NOW)).toBeUndefined();
  });

  it("a slow read cannot bring back an entry that a delete removed while it was loading", () => {
    const cache = new EntryCache(1 << 20);
    const k = randomBytes(32);
    const epoch = cache.epoch;
    cache.written(uid, undefined, [k]);
    cache.offer(uid, entry(k, 1), epoch);
    expect(cache.get(uid, k, NOW)).toBeUndefined();
  });

  it("keeps to its byte budget, least recently used out first", () => {
    const cache = new EntryCache(3 * (32 + 8 + 345 + 240));
    const keys = [randomBytes(32), randomBytes(32), randomBytes(32), randomBytes(32)];
    for (const k of keys.slice(0, 3)) cache.offer(uid, entry(k, 1), cache.epoch);
    cache.get(uid, keys[0] as Buffer, NOW); // now the most recently used
    cache.offer(uid, entry(keys[3] as Buffer, 1), cache.epoch);
    expect(cache.bytes).toBeLessThanOrEqual(3 * (32 + 8 + 345 + 240));
    expect(cache.get(uid, keys[1] as Buffer, NOW)).toBeUndefined();
    expect(cache.get(uid, keys[0] as Buffer, NOW)).toBeDefined();
    expect(cache.get(uid, keys[3] as Buffer, NOW)).toBeDefined();
  });

  it("drops a deleted store's entries and only those", () => {
    const cache = new EntryCache(1 << 20);
    const other = randomBytes(16);
    const k = randomBytes(32);
    cache.offer(uid, entry(k, 1), cache.epoch);
    cache.offer(other, entry(k, 1), cache.epoch);
    cache.dropStore(uid);
    expect(cache.get(uid, k, NOW)).toBeUndefined();
    expect(cache.get(other, k, NOW)).toBeDefined();
  });

  it("with a budget of 0 holds nothing", () => {
    const cache = new EntryCache(0);
    const k = randomBytes(32);
    cache.written(uid, entry(k, 1), []);
    cache.offer(uid, entry(k, 1), cache.epoch);
    expect(cache.get(uid, k, NOW)).toBeUndefined();
    expect(cache.bytes).toBe(0);
  });

  it("never serves an entry past its expiry, whatever is cached", () => {
    const cache = new EntryCache(1 << 20);
    const k = randomBytes(32);
    cache.offer(uid, entry(k, 1, 345, NOW + 1000), cache.epoch);
    expect(cache.get(uid, k, NOW)?.version).toBe(1);
    expect(cache.get(uid, k, NOW + 1000)).toBeUndefined();
    expect(cache.get(uid, k, NOW + 5000)).toBeUndefined();
  });
});
