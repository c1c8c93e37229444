import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DescribeStoreResponse } from "../../gen/hexclave/v1/vault_service.js";
import { generateSecret, type HexclaveError } from "../../src/client/index.js";
import { bearer, call } from "../support/grpc-clients.js";
import { type ClientFixture, startClientFixture } from "./support/client-fixture.js";
import {
  type RewritingVaultProxy,
  startRewritingVaultProxy,
} from "./support/rewriting-vault-proxy.js";

/**
 * A store's salt comes from DescribeStore and nothing authenticates it. A
 * hostile server, or anyone between client and server, could change it to
 * collect a fingerprint under a salt it chose (one it precomputed passphrase
 * guesses for). The client pins the salt it sees first for each store, and
 * `storeSalts` pins it before first use; either way another salt is refused
 * before anything is derived, read or written with it (docs/sealing.md §9.3).
 */

const secret = generateSecret();
const evilSalt = randomBytes(32);
/** A well-formed salt for the configuration cases, which run before any server exists. */
const anySalt = randomBytes(32);
let f: ClientFixture;
let proxy: RewritingVaultProxy;
let realSalt: Buffer;

/** DescribeStore's response with the store's salt replaced. */
function withSalt(response: unknown, salt: Buffer): DescribeStoreResponse {
  const { store } = response as DescribeStoreResponse;
  return { store: store === undefined ? undefined : { ...store, salt } };
}

beforeAll(async () => {
  f = await startClientFixture();
  await f.createStore("pinned");
  const described = await call(
    f.raw.vault,
    f.raw.vault.describeStore,
    { storeId: "pinned" },
    bearer(f.server.adminToken),
  );
  realSalt = described.store?.salt as Buffer;
  // Honest on each store's first DescribeStore through it, then a salt of its own choosing.
  proxy = await startRewritingVaultProxy(f.server.address, (method, response, n) =>
    method === "describeStore" && n > 1 ? withSalt(response, evilSalt) : response,
  );
});
afterAll(async () => {
  await proxy.close();
  await f.close();
});

async function failure(attempt: Promise<unknown>): Promise<HexclaveError> {
  const outcome = await attempt.then(
    (value) => ({ resolvedWith: value }),
    (e: unknown) => e,
  );
  expect(outcome).toHaveProperty("code");
  return outcome as HexclaveError;
}

describe("a server that changes a store's salt after the client first saw it", () => {
  it("is refused with STORE_SALT_CHANGED, and the store opened before keeps working", async () => {
    const client = f.client({ address: proxy.address });
    const store = await client.getDataVaultStore("pinned");
    expect(store.salt).toBe(realSalt.toString("base64"));
    await store.setValue("gh:1", "token", { secret });

    const e = await failure(client.getDataVaultStore("pinned"));
    expect(proxy.calls("describeStore")).toBe(2); // the rewrite did reach the client
    expect(e).toMatchObject({ name: "StoreSaltChangedError", code: "STORE_SALT_CHANGED" });
    expect(e.metadata).toEqual({
      store_id: "pinned",
      expected_salt: realSalt.toString("base64"),
      presented_salt: evilSalt.toString("base64"),
      pinned_by: "first use",
    });
    expect(e.message).toContain('store "pinned"');
    expect(e.message).toContain("deleted and re-created");
    expect(e.message).toContain("check the address, TLS and the server");

    // Nothing was derived or sent under the new salt; the first store object is unaffected.
    const writes = proxy.calls("setValue");
    expect(await store.getValue("gh:1", { secret })).toBe("token");
    expect(proxy.calls("setValue")).toBe(writes);
  });

  it("is accepted by a new client, which has nothing pinned: first use is trusted", async () => {
    // The limit of pinning on first use, and what storeSalts is for (next test).
    const fresh = f.client({ address: proxy.address });
    expect((await fresh.getDataVaultStore("pinned")).salt).toBe(evilSalt.toString("base64"));
  });

  it("is refused from the first call by a client with the salt in storeSalts", async () => {
    const pinned = f.client({
      address: proxy.address,
      storeSalts: { pinned: realSalt.toString("base64") },
    });
    const e = await failure(pinned.getDataVaultStore("pinned"));
    expect(e).toMatchObject({ name: "StoreSaltChangedError", code: "STORE_SALT_CHANGED" });
    expect(e.metadata).toMatchObject({
      presented_salt: evilSalt.toString("base64"),
      pinned_by: "configuration",
    });
    expect(e.message).toContain('"storeSalts" pins');
  });
});

describe("storeSalts, the explicit pin", () => {
  it("lets the pinned store open, and leaves other stores to first use", async () => {
    await f.createStore("unpinned");
    const client = f.client({ storeSalts: { pinned: realSalt.toString("base64") } });
    const store = await client.getDataVaultStore("pinned");
    expect(store.salt).toBe(realSalt.toString("base64"));
    expect(await store.getValue("gh:1", { secret })).toBe("token");
    await client.getDataVaultStore("unpinned");
  });

  it.each([
    ["not an object", "oauth-tokens=abc", '"storeSalts" must be an object'],
    ["a key that is no store id", { "Not A Store": anySalt.toString("base64") }, "not a store id"],
    ["a salt of 31 bytes", { pinned: randomBytes(31).toString("base64") }, "32-byte salt"],
    ["a salt in base64url", { pinned: "-".repeat(43) }, "32-byte salt"],
    ["a salt without its padding", { pinned: anySalt.toString("base64").slice(0, -1) }, "32-byte"],
    ["a salt that is not a string", { pinned: anySalt }, "32-byte salt in base64"],
  ])("refuses %s when the client is made", (_, storeSalts, message) => {
    let thrown: unknown;
    try {
      f.client({ storeSalts: storeSalts as unknown as Record<string, string> });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: "INVALID_ARGUMENT" });
    expect((thrown as Error).message).toContain(message);
  });
});

describe("a store deleted and re-created under the same id, while a client runs", () => {
  it("gets a new salt, which that client refuses, saying to make a new client", async () => {
    await f.createStore("recreated");
    const client = f.client();
    const before = await client.getDataVaultStore("recreated");
    const admin = bearer(f.server.adminToken);
    await call(f.raw.admin, f.raw.admin.deleteStore, { storeId: "recreated" }, admin);
    await f.createStore("recreated");

    const e = await failure(client.getDataVaultStore("recreated"));
    expect(e).toMatchObject({ code: "STORE_SALT_CHANGED" });
    expect(e.metadata.expected_salt).toBe(before.salt);
    expect(e.message).toContain("make a new HexclaveClient, or restart");
    const after = await f.client().getDataVaultStore("recreated");
    expect(after.salt).not.toBe(before.salt);
  });
});
