import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStorage } from "../../src/storage/open-storage.js";
import { serverIdentity } from "../../src/storage/server-registry.js";
import { callerOf } from "../../src/vault/caller.js";
import type { Storage } from "../../src/vault/storage-port.js";
import { openVault, type Vault } from "../../src/vault/vault.js";
import { isVaultError } from "../../src/vault/vault-error.js";
import { countingStorage } from "../support/counting-storage.js";
import {
  bearer,
  call,
  expectStatus,
  type RawClients,
  rawClients,
} from "../support/grpc-clients.js";
import { snapshotTables, withDataFile } from "../support/sqlite-files.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import {
  createStore,
  createToken,
  getValue,
  keyRef,
  newFingerprint,
  setValue,
} from "../support/vault-fixtures.js";

/**
 * Threat: SQL injection through any text or bytes a caller controls. Every
 * value reaches SQL as a bound parameter, so hostile text is stored and
 * returned byte for byte and changes no other row; store ids, which name
 * things, are checked against their pattern before any query runs.
 */

const HOSTILE_TEXT = [
  "'; DROP TABLE entries; --",
  "x'); DELETE FROM stores WHERE ('1'='1",
  '" OR "1"="1',
  "' OR 1=1 --",
  "\\'; SELECT * FROM tokens; --",
  "'' '''' \"\" `backticks` [brackets]",
  "/* comment */ UNION SELECT secret_hash FROM tokens --",
  "%_% LIKE wildcards _%",
  "; PRAGMA writable_schema = 1; ATTACH DATABASE '/tmp/x' AS x; --",
  "\\0 %00 \\x00 ␀ NUL-ish, but no NUL",
  "ＳＥＬＥＣＴ ＊ ＦＲＯＭ ｔｏｋｅｎｓ； ——",
  "ʼ; DROP TABLE stores; -- (modifier-letter apostrophe) ’ ‘ ‛ ＇",
  "‮ right-to-left override ‭ e\u0301 combining 🔐💣 𝕊𝕈𝕃",
  "'".repeat(128),
];

let t: TestServer;
let c: RawClients;

beforeAll(async () => {
  t = await startTestServer();
  c = rawClients(t.address);
  // Data that must survive everything below, untouched.
  await createStore(c, t.adminToken, "bystander", { description: "must not change" });
  await setValue(
    c,
    t.adminToken,
    "bystander",
    keyRef(newFingerprint()),
    Buffer.from("bystander value"),
  );
  await createToken(
    c,
    t.adminToken,
    [{ storeId: "bystander", read: true, write: true }],
    "bystander",
  );
});

afterAll(async () => {
  c?.close();
  await t?.close();
});

type Snapshot = Record<string, unknown[]>;

/** The snapshot without the rows `except` picks out: to show a call added its own rows and touched no other. */
function without(
  snapshot: Snapshot,
  except: (table: string, row: Record<string, unknown>) => boolean,
): Snapshot {
  return Object.fromEntries(
    Object.entries(snapshot).map(([table, rows]) => [
      table,
      rows.filter((row) => !except(table, JSON.parse(String(row)) as Record<string, unknown>)),
    ]),
  );
}

describe("hostile text is stored and returned verbatim and changes no other row", () => {
  it.each(HOSTILE_TEXT.map((text, i) => [i, text] as const))(
    "store description #%i",
    async (i, text) => {
      const storeId = `described-${i}`;
      const before = snapshotTables(t.dataDir);
      await createStore(c, t.adminToken, storeId, { description: text });

      const got = await call(c.admin, c.admin.getStore, { storeId }, bearer(t.adminToken));
      expect(got.store?.description).toBe(text);
      const listed = await call(c.admin, c.admin.listStores, {}, bearer(t.adminToken));
      expect(listed.stores.find((s) => s.id === storeId)?.description).toBe(text);
      const described = await call(
        c.vault,
        c.vault.describeStore,
        { storeId },
        bearer(t.adminToken),
      );
      expect(described.store?.description).toBe(text);
      const raw = withDataFile(
        t.dataDir,
        (db) => db.prepare("select description from stores where id = ?").pluck().get(storeId),
        { readonly: true },
      );
      expect(raw).toBe(text);

      const after = snapshotTables(t.dataDir);
      expect(Object.keys(after)).toEqual(Object.keys(before));
      expect(without(after, (table, row) => table === "stores" && row.id === storeId)).toEqual(
        before,
      );
    },
  );

  it.each(HOSTILE_TEXT.map((text, i) => [i, text] as const))("token name #%i", async (_, text) => {
    const before = snapshotTables(t.dataDir);
    const made = await createToken(
      c,
      t.adminToken,
      [{ storeId: "bystander", read: true, write: false }],
      text,
    );
    const listed = await call(
      c.admin,
      c.admin.listTokens,
      { includeRevoked: true },
      bearer(t.adminToken),
    );
    expect(listed.tokens.find((tok) => tok.id === made.id)?.name).toBe(text);
    const raw = withDataFile(
      t.dataDir,
      (db) => db.prepare("select name from tokens where id = ?").pluck().get(made.id),
      { readonly: true },
    );
    expect(raw).toBe(text);
    // The token works, with exactly its grant.
    await call(c.vault, c.vault.describeStore, { storeId: "bystander" }, bearer(made.secret));
    const after = snapshotTables(t.dataDir);
    expect(without(after, (table, row) => table === "tokens" && row.id === made.id)).toEqual(
      before,
    );
  });

  it("a real NUL (and other control characters) in text is refused, and nothing is written", async () => {
    for (const text of ["before\u0000after", "tab\there", "bell\u0007", "del\u007f"]) {
      const before = snapshotTables(t.dataDir);
      await expectStatus(
        call(
          c.admin,
          c.admin.createStore,
          { storeId: "nul-store", description: text },
          bearer(t.adminToken),
        ),
        status.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
      );
      await expectStatus(
        call(
          c.admin,
          c.admin.createToken,
          { name: text, admin: true, grants: [] },
          bearer(t.adminToken),
        ),
        status.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
      );
      expect(snapshotTables(t.dataDir)).toEqual(before);
    }
  });
});

describe("store ids with SQL wildcards and comment markers", () => {
  it("grants match store ids exactly: '_' is not a wildcard, '--' is not a comment", async () => {
    for (const id of ["a_c", "abc", "a--", "a--b", "a"]) await createStore(c, t.adminToken, id);
    const token = await createToken(c, t.adminToken, [
      { storeId: "a_c", read: true, write: true },
      { storeId: "a--", read: true, write: false },
    ]);
    const listed = await call(
      c.admin,
      c.admin.listTokens,
      { includeRevoked: false },
      bearer(t.adminToken),
    );
    expect(listed.tokens.find((tok) => tok.id === token.id)?.grants).toEqual([
      { storeId: "a_c", read: true, write: true },
      { storeId: "a--", read: true, write: false },
    ]);
    await call(c.vault, c.vault.describeStore, { storeId: "a_c" }, bearer(token.secret));
    await call(c.vault, c.vault.describeStore, { storeId: "a--" }, bearer(token.secret));
    for (const other of ["abc", "a--b", "a"]) {
      await expectStatus(
        call(c.vault, c.vault.describeStore, { storeId: other }, bearer(token.secret)),
        status.PERMISSION_DENIED,
        "PERMISSION_DENIED",
      );
    }
    // Entries stay in their own store too.
    const fp = newFingerprint();
    const key = keyRef(fp);
    await setValue(c, token.secret, "a_c", key, Buffer.from("in a_c"));
    expect(await getValue(c, t.adminToken, "abc", keyRef(fp, key.keyId))).toBeUndefined();
  });

  it("grants naming hostile store ids are refused before anything is written", async () => {
    for (const id of [
      "x'; DROP TABLE tokens; --",
      'x" OR 1=1',
      "x%",
      "a\u0000b",
      '"},{"storeId":"bystander"',
    ]) {
      const before = snapshotTables(t.dataDir);
      await expectStatus(
        call(
          c.admin,
          c.admin.createToken,
          {
            name: "hostile grant",
            admin: false,
            grants: [{ storeId: id, read: true, write: true }],
          },
          bearer(t.adminToken),
        ),
        status.INVALID_ARGUMENT,
        "INVALID_STORE_ID",
      );
      expect(snapshotTables(t.dataDir)).toEqual(before);
    }
  });
});

describe("hostile bytes in key ids, fingerprints and values", () => {
  it("are stored and returned byte for byte; ids differing only after a NUL stay distinct", async () => {
    await createStore(c, t.adminToken, "bytes");
    const fp = Buffer.from("'\"\u0000;--\\%", "latin1").subarray(0, 8);
    expect(fp).toHaveLength(8);
    const sql = Buffer.from("'; DROP TABLE entries; --".padEnd(32, "'"), "latin1");
    const nulA = Buffer.concat([Buffer.from("abc"), Buffer.alloc(28), Buffer.from("A")]);
    const nulB = Buffer.concat([Buffer.from("abc"), Buffer.alloc(28), Buffer.from("B")]);
    const zeros = Buffer.alloc(32);
    const values = new Map<Buffer, Buffer>([
      [sql, Buffer.from("'); DELETE FROM entries; --")],
      [nulA, Buffer.from("value A\u0000with NUL")],
      [nulB, Buffer.from("value B")],
      [zeros, Buffer.from([0, 0, 0, 39, 34, 92, 0])],
    ]);
    const versions = new Map<Buffer, number>();
    for (const [keyId, value] of values)
      versions.set(keyId, await setValue(c, t.adminToken, "bytes", keyRef(fp, keyId), value));
    for (const [keyId, value] of values) {
      const entry = await getValue(c, t.adminToken, "bytes", keyRef(fp, keyId));
      expect(Buffer.from(entry?.keyId ?? []).equals(keyId)).toBe(true);
      expect(Buffer.from(entry?.secretFingerprint ?? []).equals(fp)).toBe(true);
      expect(Buffer.from(entry?.sealedValue ?? []).equals(value)).toBe(true);
      expect(Number(entry?.version)).toBe(versions.get(keyId));
    }
    const store = await call(c.admin, c.admin.getStore, { storeId: "bytes" }, bearer(t.adminToken));
    expect(store.store?.entryCount).toBe(4n);
    const bystander = await call(
      c.admin,
      c.admin.getStore,
      { storeId: "bystander" },
      bearer(t.adminToken),
    );
    expect(bystander.store).toMatchObject({ description: "must not change", entryCount: 1n });
    const tables = withDataFile(
      t.dataDir,
      (db) =>
        db
          .prepare("select name from sqlite_master where type = 'table' order by name")
          .pluck()
          .all(),
      { readonly: true },
    );
    expect(tables).toEqual(
      expect.arrayContaining(["entries", "store_secrets", "stores", "tokens"]),
    );
  });
});

const HOSTILE_STORE_IDS = [
  "x'; DROP TABLE stores; --",
  'x" OR "1"="1',
  "x' OR 1=1 --",
  "x%",
  "*",
  "a\u0000b",
  "../../etc/passwd",
  "Stores",
  "ｓｔｏｒｅ",
  "",
  "a".repeat(64),
];

describe("malformed store ids are refused before any query runs", () => {
  let dir: string;
  let storage: Storage;
  let vault: Vault;
  const queries: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "hexclave-injection-"));
    const masterKey = randomBytes(32);
    storage = await openStorage({
      dataDir: dir,
      masterKeys: [masterKey],
      server: serverIdentity(),
    });
    // Records every use of the database; each goes to the real adapter.
    vault = await openVault({
      storage: countingStorage(storage, (what) => queries.push(what)),
      masterKey,
      entryCacheBytes: 0,
    });
  });

  afterAll(async () => {
    await vault?.close();
    await storage?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const admin = callerOf("test-admin", true, []);
  const fp = newFingerprint();
  const key = { keyId: randomBytes(32), secretFingerprint: fp };
  const attempts: [string, (storeId: string) => Promise<unknown>][] = [
    ["CreateStore", (id) => vault.admin.createStore(admin, { storeId: id, description: "" })],
    ["GetStore", (id) => vault.admin.getStore(admin, id)],
    ["DeleteStore", (id) => vault.admin.deleteStore(admin, id)],
    [
      "CreateToken grant",
      (id) =>
        vault.admin.createToken(admin, {
          name: "n",
          admin: false,
          grants: [{ storeId: id, read: true, write: true }],
        }),
    ],
    ["DescribeStore", (id) => vault.data.describeStore(admin, id)],
    ["GetValue", (id) => vault.data.getValue(admin, { storeId: id, key, previousKeys: [] })],
    [
      "SetValue",
      (id) =>
        vault.data.setValue(admin, {
          storeId: id,
          key,
          previousKeys: [],
          sealedValue: Buffer.from("v"),
        }),
    ],
    ["DeleteValue", (id) => vault.data.deleteValue(admin, { storeId: id, key, previousKeys: [] })],
    ["BatchGetValues", (id) => vault.data.batchGetValues(admin, { storeId: id, keys: [key] })],
    [
      "ListEntries",
      async (id) => {
        const pages = vault.data.listEntries(
          admin,
          { storeId: id, secretFingerprints: [], startAfterKeyId: Buffer.alloc(0), pageSize: 0n },
          new AbortController().signal,
        );
        for await (const _ of pages) {
          // Consumed only to run the generator.
        }
      },
    ],
    [
      "RegisterSecret",
      (id) =>
        vault.data.registerSecret(admin, {
          storeId: id,
          secretFingerprint: fp,
          knownSecretFingerprint: Buffer.alloc(0),
        }),
    ],
    [
      "RetireSecret",
      (id) => vault.data.retireSecret(admin, { storeId: id, secretFingerprint: fp }),
    ],
  ];

  it.each(attempts)("%s", async (_, attempt) => {
    for (const id of HOSTILE_STORE_IDS) {
      queries.length = 0;
      const error = await attempt(id).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isVaultError(error) && error.reason, JSON.stringify(id)).toBe("INVALID_STORE_ID");
      expect(queries, `queries run for ${JSON.stringify(id)}`).toEqual([]);
    }
  });

  it("the recorder does see queries for a valid id (so an empty record means something)", async () => {
    queries.length = 0;
    await expect(vault.admin.getStore(admin, "valid-but-missing")).rejects.toThrow(
      /does not exist/,
    );
    expect(queries).toContain("findStore");
  });
});
