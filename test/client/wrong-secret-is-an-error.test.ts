import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type DataVaultStore, generateSecret } from "../../src/client/index.js";
import { bearer, call } from "../support/grpc-clients.js";
import { type ClientFixture, startClientFixture } from "./support/client-fixture.js";

/**
 * A wrong secret is an error, not a silent null: a store remembers which
 * secrets wrote to it, and a call with a secret it has never seen fails with
 * UnknownSecretError naming both fingerprints, and writes nothing.
 */

const right = generateSecret();
// A hand-made passphrase: the case where a typo is most likely, and it goes through scrypt.
const wrong = "a passphrase this store has never seen";
let f: ClientFixture;
let store: DataVaultStore;
let rightFp: string;
let wrongFp: string;

beforeAll(async () => {
  f = await startClientFixture();
  await f.createStore("wrong-secret");
  store = await f.client().getDataVaultStore("wrong-secret");
  for (const k of ["gh:1", "gh:2", "gh:3"])
    await store.setValue(k, `value-${k}`, { secret: right });
  rightFp = await store.secretFingerprint(right);
  wrongFp = await store.secretFingerprint(wrong);
});
afterAll(() => f.close());

/** Everything the server holds for the store: counts, secrets and every entry row. */
async function snapshot(): Promise<unknown> {
  const { store: described } = await call(
    f.raw.vault,
    f.raw.vault.describeStore,
    { storeId: "wrong-secret" },
    bearer(f.server.adminToken),
  );
  const db = new Database(join(f.server.dataDir, "hexclave.db"), { readonly: true });
  try {
    return {
      entryCount: described?.entryCount,
      totalValueBytes: described?.totalValueBytes,
      secrets: described?.secrets.map((s) => [s.fingerprint.toString("hex"), s.entryCount]),
      entries: db
        .prepare("select hex(key_id) k, hex(fingerprint) f, hex(blob) b, version from entries")
        .all(),
      secretRows: db.prepare("select hex(fingerprint) f, entry_count from store_secrets").all(),
    };
  } finally {
    db.close();
  }
}

let before: unknown;
beforeEach(async () => {
  before = await snapshot();
});

async function expectUnknownSecret(attempt: Promise<unknown>): Promise<void> {
  const error = await attempt.then(
    (value) => ({ resolvedWith: value }),
    (e: unknown) => e,
  );
  expect(error).toMatchObject({
    name: "UnknownSecretError",
    code: "UNKNOWN_SECRET",
    presentedFingerprints: [wrongFp],
    registeredFingerprints: [rightFp],
  });
  const { message } = error as Error;
  expect(message).toContain(wrongFp);
  expect(message).toContain(rightFp);
  expect(message).toContain("HEXCLAVE_SECRET");
  expect(await snapshot()).toEqual(before);
}

describe("reads with a secret the store has never seen", () => {
  it("getValue fails instead of returning null (for a key that exists and one that does not)", async () => {
    await expectUnknownSecret(store.getValue("gh:1", { secret: wrong }));
    await expectUnknownSecret(store.getValue("never-written", { secret: wrong }));
  });

  it("getValues and entries fail too", async () => {
    await expectUnknownSecret(store.getValues(["gh:1", "gh:2"], { secret: wrong }));
    const listing = (async () => {
      for await (const _ of store.entries({ secret: wrong })) {
        // nothing should be listed
      }
    })();
    await expectUnknownSecret(listing);
  });
});

describe("writes with a secret the store has never seen write nothing", () => {
  it("setValue over an existing key and to a new key", async () => {
    await expectUnknownSecret(store.setValue("gh:1", "overwritten", { secret: wrong }));
    await expectUnknownSecret(store.setValue("gh:new", "planted", { secret: wrong }));
  });

  it("deleteValue", async () => {
    await expectUnknownSecret(store.deleteValue("gh:2", { secret: wrong }));
  });

  it("registerSecret vouched for by an unknown secret", async () => {
    await expectUnknownSecret(
      store.registerSecret({ secret: generateSecret(), knownSecret: wrong }),
    );
  });
});

it("still reads every value with the right secret", async () => {
  const values = await store.getValues(["gh:1", "gh:2", "gh:3"], { secret: right });
  expect([...values.values()]).toEqual(["value-gh:1", "value-gh:2", "value-gh:3"]);
});

it("lets the first write to an empty store register its secret, and reads there return null", async () => {
  await f.createStore("fresh");
  const fresh = await f.client().getDataVaultStore("fresh");
  expect(await fresh.getValue("anything", { secret: wrong })).toBeNull();
  await fresh.setValue("k", "v", { secret: right });
  await expect(fresh.getValue("k", { secret: wrong })).rejects.toMatchObject({
    code: "UNKNOWN_SECRET",
  });
});
