import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { generateSecret } from "../../src/client/index.js";
import { KeyCache } from "../../src/client/key-cache.js";

/**
 * One key derivation per (secret, store) per client: scrypt costs ~0.5-1 s, so
 * repeating it per call would make every call that slow (the reference
 * product's mistake); concurrent first calls must share one derivation.
 */

const salt = randomBytes(32);

describe("KeyCache", () => {
  it("derives once for concurrent first calls and reuses the keys after", async () => {
    const cache = new KeyCache();
    const secret = "a hand-made passphrase for the cache";
    // One derivation gives one keys object: the same object back means no second scrypt.
    const [a, b, c] = await Promise.all([
      cache.get(secret, "store-a", salt),
      cache.get(secret, "store-a", salt),
      cache.get(secret, "store-a", salt),
    ]);
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(await cache.get(secret, "store-a", salt)).toBe(a);
  });

  it("keys by secret, store id and salt", async () => {
    const cache = new KeyCache();
    const secret = generateSecret();
    const base = await cache.get(secret, "store-a", salt);
    expect(await cache.get(generateSecret(), "store-a", salt)).not.toBe(base);
    expect(await cache.get(secret, "store-b", salt)).not.toBe(base);
    expect(await cache.get(secret, "store-a", randomBytes(32))).not.toBe(base);
    expect(await cache.get(secret, "store-a", salt)).toBe(base);
  });

  it("stays within its bound, dropping the least recently used", async () => {
    const cache = new KeyCache(2);
    const [s1, s2, s3] = [generateSecret(), generateSecret(), generateSecret()];
    const k1 = await cache.get(s1, "s", salt);
    const k2 = await cache.get(s2, "s", salt);
    expect(await cache.get(s1, "s", salt)).toBe(k1); // s1 is now the most recent
    await cache.get(s3, "s", salt); // evicts s2
    expect(await cache.get(s1, "s", salt)).toBe(k1);
    expect(await cache.get(s2, "s", salt)).not.toBe(k2);
  });

  it("does not remember a failed derivation", async () => {
    const cache = new KeyCache();
    await expect(cache.get("short", "s", salt)).rejects.toMatchObject({ code: "WEAK_SECRET" });
    await expect(cache.get("short", "s", salt)).rejects.toMatchObject({ code: "WEAK_SECRET" });
  });

  it("zeroes every key on clear()", async () => {
    const cache = new KeyCache();
    const keys = await cache.get(generateSecret(), "s", salt);
    cache.clear();
    await Promise.resolve();
    expect(keys.destroyed).toBe(true);
  });
});
