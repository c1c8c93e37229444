import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { MAX_PREVIOUS_SECRETS } from "../../src/client/client-assertions.js";
import { type DataVaultStore, generateSecret } from "../../src/client/index.js";
import {
  MAX_BATCH_REFS,
  MAX_PAGE_SIZE,
  MAX_RECEIVE_MESSAGE_BYTES,
  MAX_RESPONSE_BYTES,
} from "../../src/client/wire-limits.js";
import { limits } from "../../src/vault/limits.js";
import { type ClientFixture, startClientFixture } from "./support/client-fixture.js";

/**
 * The client plans around the server's limits without importing server code;
 * these tests keep the two copies in step and show that a response of the
 * largest size the server builds (32 MiB) reaches the caller, that a batch too
 * large for one response is split, and that stores of 1 MiB values can be listed.
 */

const secret = generateSecret();
// 1,040,000 bytes seal to just under 1 MiB (1,040,473 with the key names used here).
const VALUE_BYTES = 1_040_000;
let f: ClientFixture;
let store: DataVaultStore;
const values = new Map<string, Buffer>();

beforeAll(async () => {
  f = await startClientFixture();
  await f.createStore("large", { maxValueBytes: 1024 * 1024 });
  store = await f.client().getDataVaultStore("large");
  for (let i = 0; i < 34; i++) {
    const value = randomBytes(VALUE_BYTES);
    values.set(`big:${i}`, value);
    await store.setValue(`big:${i}`, value, { secret });
  }
});
afterAll(() => f.close());

it("mirrors the server's limits", () => {
  expect(MAX_BATCH_REFS).toBe(limits.maxBatchKeys);
  expect(MAX_PAGE_SIZE).toBe(limits.maxPageSize);
  expect(MAX_RESPONSE_BYTES).toBe(limits.maxResponseBytes);
  expect(MAX_PREVIOUS_SECRETS).toBe(limits.maxPreviousKeys);
  expect(MAX_RECEIVE_MESSAGE_BYTES).toBeGreaterThan(limits.maxResponseBytes);
});

it("receives a ~31 MiB BatchGetValues response in one round trip (grpc-js's default limit is 4 MiB)", async () => {
  const keys = [...values.keys()].slice(0, 30);
  const got = await store.getValues(keys, { secret, as: "bytes" });
  expect(got.size).toBe(30);
  for (const k of keys)
    expect(Buffer.from(got.get(k) as Uint8Array).equals(values.get(k) as Buffer)).toBe(true);
});

it("splits a batch whose values exceed one response (34 MiB) instead of failing", async () => {
  const got = await store.getValues([...values.keys()], { secret, as: "bytes" });
  expect(got.size).toBe(34);
  expect(Buffer.from(got.get("big:33") as Uint8Array).equals(values.get("big:33") as Buffer)).toBe(
    true,
  );
});

it("lists a store of 1 MiB values in pages that fit a message", async () => {
  let n = 0;
  for await (const { key, value } of store.entries({ secret, as: "bytes" })) {
    expect(Buffer.from(value).equals(values.get(key) as Buffer)).toBe(true);
    n++;
  }
  expect(n).toBe(34);
});
