import { randomBytes } from "node:crypto";
import { type Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfo } from "../../gen/google/rpc/error_details.js";
import { Status } from "../../gen/google/rpc/status.js";
import type { KeyRef } from "../../gen/hexclave/v1/types.js";
import { forEachBackend } from "../support/backends.js";
import { type DatabaseRows, databaseRows } from "../support/database-rows.js";
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
  keyRef,
  listPages,
  newFingerprint,
  setValue,
} from "../support/vault-fixtures.js";

/**
 * The table of failures: every RPC against every kind of bad call, each
 * asserting the status code, the machine-readable reason, and that nothing
 * was written (every table compared before and after). Then what callers see
 * when the server itself fails: a generic message with a request id, never
 * SQL, stack traces or paths.
 */

type Access = "read" | "write" | "admin";

/** One RPC, called with a request that would succeed given the right token. */
interface Rpc {
  readonly name: string;
  readonly access: Access;
  /** Whether the request names a store (and so can name a missing or foreign one). */
  readonly storeScoped: boolean;
  invoke(storeId: string, md: Metadata): Promise<unknown>;
}

/** One row of the matrix. */
interface Case {
  readonly name: string;
  run(): Promise<unknown>;
  readonly code: status;
  /** The ErrorInfo reason; undefined when grpc-js itself refuses the call. */
  readonly reason: string | undefined;
}

const MAIN = "matrix-main";
const OTHER = "matrix-other";
const BIG = "matrix-big";
const NEVER_CREATED = "matrix-never-created";
const GRANTED_MISSING = "matrix-granted-missing";

let t: TestServer;
let c: RawClients;
/** The server's database, read from outside it (SQLite files or a PostgreSQL connection). */
let rows: DatabaseRows;
const fp0 = newFingerprint();
const key0 = keyRef(fp0);
const tokens = {
  admin: "",
  revoked: "",
  readOnly: "",
  writeOnly: "",
  readWrite: "",
  /** Read and write on a store that does not exist. */
  missingGrant: "",
  /** An existing token's id with a wrong secret part. */
  wrongSecret: "",
  revokableId: "",
};

const md = (token: string | undefined): Metadata => bearer(token);

function rawHeader(value: string): Metadata {
  const metadata = bearer(undefined);
  metadata.set("authorization", value);
  return metadata;
}

const RPCS: readonly Rpc[] = [
  {
    name: "VaultService/DescribeStore",
    access: "read",
    storeScoped: true,
    invoke: (storeId, m) => call(c.vault, c.vault.describeStore, { storeId }, m),
  },
  {
    name: "VaultService/GetValue",
    access: "read",
    storeScoped: true,
    invoke: (storeId, m) =>
      call(c.vault, c.vault.getValue, { storeId, key: key0, previousKeys: [] }, m),
  },
  {
    name: "VaultService/SetValue",
    access: "write",
    storeScoped: true,
    invoke: (storeId, m) =>
      call(
        c.vault,
        c.vault.setValue,
        { storeId, key: keyRef(fp0), sealedValue: Buffer.from("new"), previousKeys: [] },
        m,
      ),
  },
  {
    name: "VaultService/DeleteValue",
    access: "write",
    storeScoped: true,
    invoke: (storeId, m) =>
      call(c.vault, c.vault.deleteValue, { storeId, key: key0, previousKeys: [] }, m),
  },
  {
    name: "VaultService/BatchGetValues",
    access: "read",
    storeScoped: true,
    invoke: (storeId, m) => call(c.vault, c.vault.batchGetValues, { storeId, keys: [key0] }, m),
  },
  {
    name: "VaultService/ListEntries",
    access: "read",
    storeScoped: true,
    invoke: (storeId, m) => listPages(c, { storeId }, m),
  },
  {
    name: "VaultService/RegisterSecret",
    access: "write",
    storeScoped: true,
    invoke: (storeId, m) =>
      call(
        c.vault,
        c.vault.registerSecret,
        { storeId, secretFingerprint: newFingerprint(), knownSecretFingerprint: fp0 },
        m,
      ),
  },
  {
    name: "VaultService/RetireSecret",
    access: "write",
    storeScoped: true,
    invoke: (storeId, m) =>
      call(c.vault, c.vault.retireSecret, { storeId, secretFingerprint: newFingerprint() }, m),
  },
  {
    name: "AdminService/CreateStore",
    access: "admin",
    storeScoped: true,
    invoke: (storeId, m) =>
      call(
        c.admin,
        c.admin.createStore,
        { storeId: storeId === MAIN ? "matrix-fresh" : storeId, description: "" },
        m,
      ),
  },
  {
    name: "AdminService/GetStore",
    access: "admin",
    storeScoped: true,
    invoke: (storeId, m) => call(c.admin, c.admin.getStore, { storeId }, m),
  },
  {
    name: "AdminService/ListStores",
    access: "admin",
    storeScoped: false,
    invoke: (_storeId, m) => call(c.admin, c.admin.listStores, {}, m),
  },
  {
    name: "AdminService/DeleteStore",
    access: "admin",
    storeScoped: true,
    invoke: (storeId, m) => call(c.admin, c.admin.deleteStore, { storeId }, m),
  },
  {
    name: "AdminService/CreateToken",
    access: "admin",
    storeScoped: false,
    invoke: (_storeId, m) =>
      call(c.admin, c.admin.createToken, { name: "x", admin: true, grants: [] }, m),
  },
  {
    name: "AdminService/ListTokens",
    access: "admin",
    storeScoped: false,
    invoke: (_storeId, m) => call(c.admin, c.admin.listTokens, { includeRevoked: true }, m),
  },
  {
    name: "AdminService/RevokeToken",
    access: "admin",
    storeScoped: false,
    invoke: (_storeId, m) => call(c.admin, c.admin.revokeToken, { tokenId: tokens.revokableId }, m),
  },
];

const U = status.UNAUTHENTICATED;
const authCases: Case[] = RPCS.flatMap((rpc) => [
  {
    name: `${rpc.name}: no token`,
    run: () => rpc.invoke(MAIN, md(undefined)),
    code: U,
    reason: "TOKEN_MISSING",
  },
  {
    name: `${rpc.name}: "Basic" scheme`,
    run: () => rpc.invoke(MAIN, rawHeader(`Basic ${tokens.admin}`)),
    code: U,
    reason: "TOKEN_INVALID",
  },
  {
    name: `${rpc.name}: "Bearer" with no token`,
    run: () => rpc.invoke(MAIN, rawHeader("Bearer")),
    code: U,
    reason: "TOKEN_INVALID",
  },
  {
    name: `${rpc.name}: two words after Bearer`,
    run: () => rpc.invoke(MAIN, rawHeader(`Bearer ${tokens.admin} extra`)),
    code: U,
    reason: "TOKEN_INVALID",
  },
  {
    name: `${rpc.name}: not a token`,
    run: () => rpc.invoke(MAIN, md("not-a-token")),
    code: U,
    reason: "TOKEN_INVALID",
  },
  {
    name: `${rpc.name}: well-formed unknown token`,
    run: () =>
      rpc.invoke(
        MAIN,
        md(`hxk_${randomBytes(8).toString("hex")}_${randomBytes(32).toString("base64url")}`),
      ),
    code: U,
    reason: "TOKEN_INVALID",
  },
  {
    name: `${rpc.name}: known token id, wrong secret`,
    run: () => rpc.invoke(MAIN, md(tokens.wrongSecret)),
    code: U,
    reason: "TOKEN_INVALID",
  },
  {
    name: `${rpc.name}: revoked admin token`,
    run: () => rpc.invoke(MAIN, md(tokens.revoked)),
    code: U,
    reason: "TOKEN_REVOKED",
  },
]);

const P = status.PERMISSION_DENIED;
const scopeCases: Case[] = RPCS.flatMap((rpc): Case[] => {
  if (rpc.access === "admin") {
    return [
      {
        name: `${rpc.name}: data token (read+write) on AdminService`,
        run: () => rpc.invoke(MAIN, md(tokens.readWrite)),
        code: P,
        reason: "PERMISSION_DENIED",
      },
    ];
  }
  const wrong = () => (rpc.access === "read" ? tokens.writeOnly : tokens.readOnly);
  return [
    {
      name: `${rpc.name}: ${rpc.access === "read" ? "write-only token reading" : "read-only token writing"}`,
      run: () => rpc.invoke(MAIN, md(wrong())),
      code: P,
      reason: "PERMISSION_DENIED",
    },
    {
      name: `${rpc.name}: token for another store, which exists`,
      run: () => rpc.invoke(OTHER, md(tokens.readWrite)),
      code: P,
      reason: "PERMISSION_DENIED",
    },
    {
      name: `${rpc.name}: token for another store, which does not exist`,
      run: () => rpc.invoke(NEVER_CREATED, md(tokens.readWrite)),
      code: P,
      reason: "PERMISSION_DENIED",
    },
  ];
});

const missingStoreCases: Case[] = RPCS.filter((rpc) => rpc.storeScoped).flatMap((rpc): Case[] => {
  if (rpc.name.endsWith("CreateStore")) return [];
  const rows: Case[] = [
    {
      name: `${rpc.name}: missing store, admin token`,
      run: () => rpc.invoke(NEVER_CREATED, md(tokens.admin)),
      code: status.NOT_FOUND,
      reason: "STORE_NOT_FOUND",
    },
  ];
  if (rpc.access !== "admin") {
    rows.push({
      name: `${rpc.name}: missing store, token granted on it`,
      run: () => rpc.invoke(GRANTED_MISSING, md(tokens.missingGrant)),
      code: status.NOT_FOUND,
      reason: "STORE_NOT_FOUND",
    });
  }
  return rows;
});

const BAD_STORE_IDS = ["", "Upper", "-leading-dash", "a".repeat(64), "a/b", "a b", "ü", "a.b"];
const malformedStoreCases: Case[] = RPCS.filter((rpc) => rpc.storeScoped).flatMap((rpc) =>
  BAD_STORE_IDS.map((bad) => ({
    name: `${rpc.name}: malformed store id ${JSON.stringify(bad.slice(0, 12))}`,
    run: () => rpc.invoke(bad, md(tokens.admin)),
    code: status.INVALID_ARGUMENT,
    reason: "INVALID_STORE_ID",
  })),
);

const I = status.INVALID_ARGUMENT;
const badRef = (keyIdBytes: number, fpBytes = 8): KeyRef => ({
  keyId: randomBytes(keyIdBytes),
  secretFingerprint: fpBytes === 8 ? fp0 : randomBytes(fpBytes),
});
const adminMd = (): Metadata => md(tokens.admin);
const get = (key: KeyRef | undefined, previousKeys: KeyRef[] = []) =>
  call(c.vault, c.vault.getValue, { storeId: MAIN, key, previousKeys }, adminMd());
const set = (
  key: KeyRef | undefined,
  sealedValue: Buffer,
  extra: { previousKeys?: KeyRef[]; expectedVersion?: bigint; storeId?: string } = {},
) =>
  call(
    c.vault,
    c.vault.setValue,
    { storeId: MAIN, key, sealedValue, previousKeys: [], ...extra },
    adminMd(),
  );
const del = (
  key: KeyRef | undefined,
  extra: { previousKeys?: KeyRef[]; expectedVersion?: bigint } = {},
) =>
  call(c.vault, c.vault.deleteValue, { storeId: MAIN, key, previousKeys: [], ...extra }, adminMd());
const batch = (keys: KeyRef[]) =>
  call(c.vault, c.vault.batchGetValues, { storeId: MAIN, keys }, adminMd());
const many = (n: number, fp = fp0): KeyRef[] => Array.from({ length: n }, () => keyRef(fp));

const keyIdCases: Case[] = [0, 31, 33].flatMap((n): Case[] => [
  {
    name: `GetValue key_id ${n} bytes`,
    run: () => get(badRef(n)),
    code: I,
    reason: "INVALID_KEY_ID",
  },
  {
    name: `SetValue key_id ${n} bytes`,
    run: () => set(badRef(n), Buffer.from("v")),
    code: I,
    reason: "INVALID_KEY_ID",
  },
  {
    name: `DeleteValue key_id ${n} bytes`,
    run: () => del(badRef(n)),
    code: I,
    reason: "INVALID_KEY_ID",
  },
  {
    name: `BatchGetValues keys[1].key_id ${n} bytes`,
    run: () => batch([key0, badRef(n)]),
    code: I,
    reason: "INVALID_KEY_ID",
  },
  {
    name: `GetValue previous_keys[0].key_id ${n} bytes`,
    run: () => get(key0, [badRef(n)]),
    code: I,
    reason: "INVALID_KEY_ID",
  },
  {
    name: `SetValue previous_keys[0].key_id ${n} bytes`,
    run: () => set(keyRef(fp0), Buffer.from("v"), { previousKeys: [badRef(n)] }),
    code: I,
    reason: "INVALID_KEY_ID",
  },
]);
keyIdCases.push(
  ...[31, 33].map((n) => ({
    name: `ListEntries start_after_key_id ${n} bytes`,
    run: () => listPages(c, { storeId: MAIN, startAfterKeyId: randomBytes(n) }, adminMd()),
    code: I,
    reason: "INVALID_KEY_ID",
  })),
  { name: "GetValue without key", run: () => get(undefined), code: I, reason: "INVALID_KEY_ID" },
  {
    name: "SetValue without key",
    run: () => set(undefined, Buffer.from("v")),
    code: I,
    reason: "INVALID_KEY_ID",
  },
  { name: "DeleteValue without key", run: () => del(undefined), code: I, reason: "INVALID_KEY_ID" },
  { name: "BatchGetValues with no keys", run: () => batch([]), code: I, reason: "INVALID_KEY_ID" },
  {
    name: "SetValue previous_keys repeating key",
    run: () => set(key0, Buffer.from("v"), { previousKeys: [key0] }),
    code: I,
    reason: "INVALID_KEY_ID",
  },
);

const fingerprintCases: Case[] = [0, 7, 9].flatMap((n): Case[] => [
  {
    name: `GetValue fingerprint ${n} bytes`,
    run: () => get(badRef(32, n)),
    code: I,
    reason: "INVALID_FINGERPRINT",
  },
  {
    name: `SetValue fingerprint ${n} bytes`,
    run: () => set(badRef(32, n), Buffer.from("v")),
    code: I,
    reason: "INVALID_FINGERPRINT",
  },
  {
    name: `DeleteValue fingerprint ${n} bytes`,
    run: () => del(badRef(32, n)),
    code: I,
    reason: "INVALID_FINGERPRINT",
  },
  {
    name: `BatchGetValues fingerprint ${n} bytes`,
    run: () => batch([badRef(32, n)]),
    code: I,
    reason: "INVALID_FINGERPRINT",
  },
  {
    name: `ListEntries secret_fingerprints[0] ${n} bytes`,
    run: () => listPages(c, { storeId: MAIN, secretFingerprints: [randomBytes(n)] }, adminMd()),
    code: I,
    reason: "INVALID_FINGERPRINT",
  },
  {
    name: `RegisterSecret secret_fingerprint ${n} bytes`,
    run: () =>
      call(
        c.vault,
        c.vault.registerSecret,
        { storeId: MAIN, secretFingerprint: randomBytes(n), knownSecretFingerprint: fp0 },
        adminMd(),
      ),
    code: I,
    reason: "INVALID_FINGERPRINT",
  },
  {
    name: `RetireSecret secret_fingerprint ${n} bytes`,
    run: () =>
      call(
        c.vault,
        c.vault.retireSecret,
        { storeId: MAIN, secretFingerprint: randomBytes(n) },
        adminMd(),
      ),
    code: I,
    reason: "INVALID_FINGERPRINT",
  },
]);
fingerprintCases.push({
  name: "RegisterSecret known_secret_fingerprint 9 bytes",
  run: () =>
    call(
      c.vault,
      c.vault.registerSecret,
      {
        storeId: MAIN,
        secretFingerprint: newFingerprint(),
        knownSecretFingerprint: randomBytes(9),
      },
      adminMd(),
    ),
  code: I,
  reason: "INVALID_FINGERPRINT",
});

const valueAndLimitCases: Case[] = [
  {
    name: "SetValue empty value",
    run: () => set(keyRef(fp0), Buffer.alloc(0)),
    code: I,
    reason: "INVALID_VALUE",
  },
  {
    name: "SetValue one byte over the default 64 KiB",
    run: () => set(keyRef(fp0), randomBytes(65_537)),
    code: I,
    reason: "VALUE_TOO_LARGE",
  },
  {
    name: "SetValue overwrite one byte over the limit",
    run: () => set(key0, randomBytes(65_537)),
    code: I,
    reason: "VALUE_TOO_LARGE",
  },
  {
    name: "SetValue one byte over a 1 MiB store's limit",
    run: () => set(keyRef(fp0), randomBytes(1024 * 1024 + 1), { storeId: BIG }),
    code: I,
    reason: "VALUE_TOO_LARGE",
  },
  {
    name: "SetValue above the gRPC max message size (grpc-js refuses it)",
    run: () => set(keyRef(fp0), randomBytes(2 * 1024 * 1024), { storeId: BIG }),
    code: status.RESOURCE_EXHAUSTED,
    reason: undefined,
  },
  {
    name: "BatchGetValues 1,001 keys",
    run: () => batch(many(1001)),
    code: I,
    reason: "TOO_MANY_KEYS",
  },
  {
    name: "GetValue 17 previous_keys",
    run: () => get(keyRef(fp0), many(17)),
    code: I,
    reason: "TOO_MANY_KEYS",
  },
  {
    name: "SetValue 17 previous_keys",
    run: () => set(keyRef(fp0), Buffer.from("v"), { previousKeys: many(17) }),
    code: I,
    reason: "TOO_MANY_KEYS",
  },
  {
    name: "DeleteValue 17 previous_keys",
    run: () => del(key0, { previousKeys: many(17) }),
    code: I,
    reason: "TOO_MANY_KEYS",
  },
  {
    name: "ListEntries 17 secret_fingerprints",
    run: () =>
      listPages(
        c,
        { storeId: MAIN, secretFingerprints: Array.from({ length: 17 }, () => fp0) },
        adminMd(),
      ),
    code: I,
    reason: "TOO_MANY_KEYS",
  },
  {
    name: "ListEntries page_size 1,001",
    run: () => listPages(c, { storeId: MAIN, pageSize: 1001n }, adminMd()),
    code: I,
    reason: "INVALID_ARGUMENT",
  },
  {
    name: "ListEntries page_size 2^32 + 5 (must not wrap to 5)",
    run: () => listPages(c, { storeId: MAIN, pageSize: 2n ** 32n + 5n }, adminMd()),
    code: I,
    reason: "INVALID_ARGUMENT",
  },
  // uint64 versions past 2^53 once made the generated decoder throw (INTERNAL).
  ...[2n ** 53n, 2n ** 63n, 2n ** 64n - 1n].flatMap((wide): Case[] => [
    {
      name: `SetValue expected_version ${wide}`,
      run: () => set(key0, Buffer.from("v"), { expectedVersion: wide }),
      code: I,
      reason: "INVALID_ARGUMENT",
    },
    {
      name: `DeleteValue expected_version ${wide}`,
      run: () => del(key0, { expectedVersion: wide }),
      code: I,
      reason: "INVALID_ARGUMENT",
    },
  ]),
];

const A = status.ABORTED;
const F = status.FAILED_PRECONDITION;
const stateCases: Case[] = [
  {
    name: "SetValue expected_version 0 on an existing entry",
    run: () => set(key0, Buffer.from("v"), { expectedVersion: 0n }),
    code: A,
    reason: "VERSION_CONFLICT",
  },
  {
    name: "SetValue expected_version 9 on version 1",
    run: () => set(key0, Buffer.from("v"), { expectedVersion: 9n }),
    code: A,
    reason: "VERSION_CONFLICT",
  },
  {
    name: "SetValue expected_version 1 on a missing entry",
    run: () => set(keyRef(fp0), Buffer.from("v"), { expectedVersion: 1n }),
    code: A,
    reason: "VERSION_CONFLICT",
  },
  {
    name: "SetValue expected_version 0 while a previous key holds the entry",
    run: () => set(keyRef(fp0), Buffer.from("v"), { previousKeys: [key0], expectedVersion: 0n }),
    code: A,
    reason: "VERSION_CONFLICT",
  },
  {
    name: "DeleteValue expected_version 9 on version 1",
    run: () => del(key0, { expectedVersion: 9n }),
    code: A,
    reason: "VERSION_CONFLICT",
  },
  {
    name: "GetValue under an unknown secret",
    run: () => get(keyRef(newFingerprint(), key0.keyId)),
    code: F,
    reason: "UNKNOWN_SECRET",
  },
  {
    name: "SetValue under an unknown secret",
    run: () => set(keyRef(newFingerprint()), Buffer.from("v")),
    code: F,
    reason: "UNKNOWN_SECRET",
  },
  {
    name: "SetValue under an unknown secret, with unknown previous keys",
    run: () =>
      set(keyRef(newFingerprint()), Buffer.from("v"), { previousKeys: [keyRef(newFingerprint())] }),
    code: F,
    reason: "UNKNOWN_SECRET",
  },
  {
    name: "DeleteValue under an unknown secret",
    run: () => del(keyRef(newFingerprint(), key0.keyId)),
    code: F,
    reason: "UNKNOWN_SECRET",
  },
  {
    name: "BatchGetValues under an unknown secret",
    run: () => batch([keyRef(newFingerprint(), key0.keyId)]),
    code: F,
    reason: "UNKNOWN_SECRET",
  },
  {
    name: "ListEntries filtered by an unknown secret",
    run: () => listPages(c, { storeId: MAIN, secretFingerprints: [newFingerprint()] }, adminMd()),
    code: F,
    reason: "UNKNOWN_SECRET",
  },
  {
    name: "RegisterSecret guarded by an unknown secret",
    run: () =>
      call(
        c.vault,
        c.vault.registerSecret,
        {
          storeId: MAIN,
          secretFingerprint: newFingerprint(),
          knownSecretFingerprint: newFingerprint(),
        },
        adminMd(),
      ),
    code: F,
    reason: "UNKNOWN_SECRET",
  },
  {
    name: "RegisterSecret unguarded on a store that knows a secret",
    run: () =>
      call(
        c.vault,
        c.vault.registerSecret,
        {
          storeId: MAIN,
          secretFingerprint: newFingerprint(),
          knownSecretFingerprint: Buffer.alloc(0),
        },
        adminMd(),
      ),
    code: F,
    reason: "UNKNOWN_SECRET",
  },
  {
    name: "RetireSecret while an entry is sealed under it",
    run: () =>
      call(c.vault, c.vault.retireSecret, { storeId: MAIN, secretFingerprint: fp0 }, adminMd()),
    code: F,
    reason: "SECRET_IN_USE",
  },
];

const createStoreWith = (req: { storeId: string; description?: string; maxValueBytes?: bigint }) =>
  call(c.admin, c.admin.createStore, { description: "", ...req }, adminMd());
const createTokenWith = (req: {
  name?: string;
  admin?: boolean;
  grants?: { storeId: string; read: boolean; write: boolean }[];
}) =>
  call(c.admin, c.admin.createToken, { name: "n", admin: false, grants: [], ...req }, adminMd());
const rw = (storeId: string) => ({ storeId, read: true, write: true });

const adminArgumentCases: Case[] = [
  {
    name: "CreateStore with an id that exists",
    run: () => createStoreWith({ storeId: MAIN }),
    code: status.ALREADY_EXISTS,
    reason: "STORE_ALREADY_EXISTS",
  },
  {
    name: "CreateStore max_value_bytes 0",
    run: () => createStoreWith({ storeId: "matrix-new", maxValueBytes: 0n }),
    code: I,
    reason: "INVALID_ARGUMENT",
  },
  {
    name: "CreateStore max_value_bytes below the smallest envelope's bucket (1,024)",
    run: () => createStoreWith({ storeId: "matrix-new", maxValueBytes: 1023n }),
    code: I,
    reason: "INVALID_ARGUMENT",
  },
  {
    name: "CreateStore max_value_bytes 2^32 + 65,536 (must not wrap to 64 KiB)",
    run: () => createStoreWith({ storeId: "matrix-new", maxValueBytes: 2n ** 32n + 65536n }),
    code: I,
    reason: "INVALID_ARGUMENT",
  },
  {
    name: "CreateStore max_value_bytes above 1 MiB",
    run: () => createStoreWith({ storeId: "matrix-new", maxValueBytes: 1024n * 1024n + 1n }),
    code: I,
    reason: "INVALID_ARGUMENT",
  },
  {
    name: "CreateStore description of 1,025 characters",
    run: () => createStoreWith({ storeId: "matrix-new", description: "d".repeat(1025) }),
    code: I,
    reason: "INVALID_ARGUMENT",
  },
  {
    name: "CreateStore description with a control character",
    run: () => createStoreWith({ storeId: "matrix-new", description: "line\nbreak" }),
    code: I,
    reason: "INVALID_ARGUMENT",
  },
  {
    name: "CreateToken with an empty name",
    run: () => createTokenWith({ name: "", admin: true }),
    code: I,
    reason: "INVALID_ARGUMENT",
  },
  {
    name: "CreateToken with a 129-character name",
    run: () => createTokenWith({ name: "n".repeat(129), admin: true }),
    code: I,
    reason: "INVALID_ARGUMENT",
  },
  {
    name: "CreateToken with neither admin nor grants",
    run: () => createTokenWith({}),
    code: I,
    reason: "INVALID_ARGUMENT",
  },
  {
    name: "CreateToken with admin and grants",
    run: () => createTokenWith({ admin: true, grants: [rw(MAIN)] }),
    code: I,
    reason: "INVALID_ARGUMENT",
  },
  {
    name: "CreateToken with a grant of neither read nor write",
    run: () => createTokenWith({ grants: [{ storeId: MAIN, read: false, write: false }] }),
    code: I,
    reason: "INVALID_ARGUMENT",
  },
  {
    name: "CreateToken granting the same store twice",
    run: () => createTokenWith({ grants: [rw(MAIN), rw(MAIN)] }),
    code: I,
    reason: "INVALID_ARGUMENT",
  },
  {
    name: "CreateToken with 257 grants",
    run: () => createTokenWith({ grants: Array.from({ length: 257 }, (_, i) => rw(`g-${i}`)) }),
    code: I,
    reason: "INVALID_ARGUMENT",
  },
  {
    name: "CreateToken granting a malformed store id",
    run: () => createTokenWith({ grants: [rw("Bad Id")] }),
    code: I,
    reason: "INVALID_STORE_ID",
  },
  {
    name: "RevokeToken with a malformed id",
    run: () => call(c.admin, c.admin.revokeToken, { tokenId: "not-a-token-id" }, adminMd()),
    code: I,
    reason: "INVALID_ARGUMENT",
  },
  {
    name: "RevokeToken with an unknown id",
    run: () =>
      call(c.admin, c.admin.revokeToken, { tokenId: randomBytes(8).toString("hex") }, adminMd()),
    code: status.NOT_FOUND,
    reason: "TOKEN_NOT_FOUND",
  },
];

/** Every error message seen, for the leak check at the end. */
const messages: { name: string; details: string }[] = [];

async function expectRefusedWithoutWriting(row: Case): Promise<ServiceError> {
  const before = await rows.snapshot();
  const error =
    row.reason === undefined
      ? await expectCode(row.run(), row.code)
      : await expectStatus(row.run(), row.code, row.reason);
  expect(await rows.snapshot(), "the refused call wrote something").toEqual(before);
  expect(error.details.length).toBeGreaterThan(0);
  messages.push({ name: row.name, details: error.details });
  return error;
}

async function expectCode(promise: Promise<unknown>, code: status): Promise<ServiceError> {
  const error = (await promise.then(
    () => undefined,
    (e: unknown) => e,
  )) as ServiceError | undefined;
  expect(error?.code).toBe(code);
  return error as ServiceError;
}

function errorInfo(error: ServiceError): ErrorInfo | undefined {
  const raw = error.metadata?.get("grpc-status-details-bin")[0];
  if (!Buffer.isBuffer(raw)) return undefined;
  const detail = Status.decode(raw).details.find((d) => d.typeUrl.endsWith("google.rpc.ErrorInfo"));
  return detail === undefined ? undefined : ErrorInfo.decode(detail.value);
}

/**
 * What internal text looks like: SQL, SQLite error codes, PostgreSQL's error texts, stack
 * frames, absolute paths, source files.
 */
const LEAK =
  /\b(select\s.+\sfrom|insert\s+into|update\s+\w+\s+set|delete\s+from|drop\s+table|sqlite_\w*|sqlite3?|postgres\w*|relation\s+"|violates\s+\w+|sqlstate)\b|\n\s+at\s|\bat\s+\S+\s+\(|(^|[\s"'(])\/(tmp|work|home|usr|var|etc|proc|root)\/|\.(ts|js|mjs|cjs):\d+|node_modules/i;

forEachBackend((backend) => {
  beforeAll(async () => {
    const storage = await backend.fresh();
    t = await startTestServer({ dataDir: storage.dataDir, databaseUrl: storage.databaseUrl });
    rows = databaseRows(storage);
    messages.length = 0;
    c = rawClients(t.address);
    tokens.admin = t.adminToken;
    await createStore(c, t.adminToken, MAIN);
    await createStore(c, t.adminToken, OTHER);
    await createStore(c, t.adminToken, BIG, { maxValueBytes: 1024 * 1024 });
    await setValue(c, t.adminToken, MAIN, key0, Buffer.from("the one entry"));
    await setValue(c, t.adminToken, OTHER, keyRef(fp0), Buffer.from("other store's entry"));
    const revoked = await createToken(c, t.adminToken, "admin", "revoked");
    await call(c.admin, c.admin.revokeToken, { tokenId: revoked.id }, bearer(t.adminToken));
    tokens.revoked = revoked.secret;
    tokens.readOnly = (
      await createToken(c, t.adminToken, [{ storeId: MAIN, read: true, write: false }])
    ).secret;
    tokens.writeOnly = (
      await createToken(c, t.adminToken, [{ storeId: MAIN, read: false, write: true }])
    ).secret;
    const rw = await createToken(c, t.adminToken, [{ storeId: MAIN, read: true, write: true }]);
    tokens.readWrite = rw.secret;
    tokens.wrongSecret = `hxk_${rw.id}_${randomBytes(32).toString("base64url")}`;
    tokens.missingGrant = (
      await createToken(c, t.adminToken, [{ storeId: GRANTED_MISSING, read: true, write: true }])
    ).secret;
    tokens.revokableId = (await createToken(c, t.adminToken, "admin", "revokable")).id;
  });

  afterAll(async () => {
    c?.close();
    await t?.close();
    await rows?.close();
  });

  describe("authentication: every RPC refuses a missing, malformed, unknown or revoked token", () => {
    it.each(authCases)("$name", async (row) => {
      await expectRefusedWithoutWriting(row);
    });
  });

  describe("authorisation: a valid token without the needed access is refused", () => {
    it.each(scopeCases)("$name", async (row) => {
      await expectRefusedWithoutWriting(row);
    });

    it.each(RPCS.filter((rpc) => rpc.access !== "admin"))(
      "$name: a foreign store gets the same answer whether or not it exists (no probing for store names)",
      async (rpc) => {
        const exists = await expectRefusedWithoutWriting({
          name: `${rpc.name} on an existing foreign store`,
          run: () => rpc.invoke(OTHER, md(tokens.readWrite)),
          code: P,
          reason: "PERMISSION_DENIED",
        });
        const absent = await expectRefusedWithoutWriting({
          name: `${rpc.name} on a missing foreign store`,
          run: () => rpc.invoke(NEVER_CREATED, md(tokens.readWrite)),
          code: P,
          reason: "PERMISSION_DENIED",
        });
        const neutral = (e: ServiceError) => ({
          details: e.details.replaceAll(OTHER, "<id>").replaceAll(NEVER_CREATED, "<id>"),
          info: JSON.stringify(errorInfo(e))
            .replaceAll(OTHER, "<id>")
            .replaceAll(NEVER_CREATED, "<id>"),
        });
        expect(neutral(exists)).toEqual(neutral(absent));
      },
    );

    it("AdminService gives a data token the same answer for an existing and a missing store", async () => {
      const exists = await expectStatus(
        call(c.admin, c.admin.getStore, { storeId: MAIN }, md(tokens.readWrite)),
        P,
        "PERMISSION_DENIED",
      );
      const absent = await expectStatus(
        call(c.admin, c.admin.getStore, { storeId: NEVER_CREATED }, md(tokens.readWrite)),
        P,
        "PERMISSION_DENIED",
      );
      expect(exists.details).toBe(absent.details);
    });
  });

  describe("missing stores", () => {
    it.each(missingStoreCases)("$name", async (row) => {
      await expectRefusedWithoutWriting(row);
    });
  });

  describe("malformed store ids are refused with INVALID_STORE_ID", () => {
    it.each(malformedStoreCases)("$name", async (row) => {
      await expectRefusedWithoutWriting(row);
    });
  });

  describe("malformed or wrong-length key ids", () => {
    it.each(keyIdCases)("$name", async (row) => {
      await expectRefusedWithoutWriting(row);
    });
  });

  describe("malformed fingerprints", () => {
    it.each(fingerprintCases)("$name", async (row) => {
      await expectRefusedWithoutWriting(row);
    });
  });

  describe("value sizes and call limits", () => {
    it.each(valueAndLimitCases)("$name", async (row) => {
      await expectRefusedWithoutWriting(row);
    });

    it("VALUE_TOO_LARGE says the limit and the size, in the message and the ErrorInfo", async () => {
      const error = await expectStatus(set(keyRef(fp0), randomBytes(70_000)), I, "VALUE_TOO_LARGE");
      expect(error.details).toContain("70000");
      expect(error.details).toContain("65536");
      expect(errorInfo(error)?.metadata).toMatchObject({ limit: "65536", actual: "70000" });
      expect(errorInfo(error)?.domain).toBe("hexclave.dev");
    });
  });

  describe("version conflicts, unknown secrets and other state errors", () => {
    it.each(stateCases)("$name", async (row) => {
      await expectRefusedWithoutWriting(row);
    });
  });

  describe("AdminService argument errors", () => {
    it.each(adminArgumentCases)("$name", async (row) => {
      await expectRefusedWithoutWriting(row);
    });
  });

  describe("error messages", () => {
    it("never carry SQL, stack traces or file paths", () => {
      expect(messages.length).toBeGreaterThan(200);
      for (const { name, details } of messages) {
        expect(details, name).not.toMatch(LEAK);
        expect(details, name).not.toContain(t.dataDir);
      }
    });
  });

  describe("server faults", () => {
    let f: TestServer;
    let fc: RawClients;
    let frows: DatabaseRows;
    const logLines: Record<string, unknown>[] = [];
    const fpF = newFingerprint();

    beforeAll(async () => {
      // These tests corrupt rows under the running server: with the entry cache
      // off, every read goes to the database and meets the corruption.
      const storage = await backend.fresh();
      frows = databaseRows(storage);
      f = await startTestServer({
        dataDir: storage.dataDir,
        databaseUrl: storage.databaseUrl,
        env: { HEXCLAVE_CACHE_MB: "0" },
        logger: pino(
          { level: "error" },
          {
            write(line: string) {
              logLines.push(JSON.parse(line) as Record<string, unknown>);
            },
          },
        ),
      });
      fc = rawClients(f.address);
    });

    afterAll(async () => {
      fc?.close();
      await f?.close();
      await frows?.close();
    });

    const fmd = () => bearer(f.adminToken);

    /** Asserts the generic message, the request id in it and in the ErrorInfo, and the log line. */
    function expectGeneric(error: ServiceError, reason: string, causeText?: string): void {
      expect(error.details).not.toMatch(LEAK);
      expect(error.details).not.toContain(f.dataDir);
      const requestId = errorInfo(error)?.metadata.request_id ?? "";
      expect(requestId).toMatch(/^[0-9a-f]{8}-[0-9a-z]+$/);
      expect(error.details).toContain(`request id ${requestId}`);
      expect(error.details).toMatch(/the server log has details$/);
      const logged = logLines.find((l) => l.requestId === requestId);
      expect(logged, "the failure is logged under the same request id").toMatchObject({
        msg: "call failed",
        reason,
      });
      if (causeText !== undefined) {
        expect(JSON.stringify(logged)).toContain(causeText);
        expect(error.details).not.toContain(causeText);
      }
    }

    it("a corrupted stored blob is DATA_LOSS DATA_CORRUPTED with a generic message and a request id", async () => {
      const storeId = await createStore(fc, f.adminToken, "faults-corrupt");
      const key = keyRef(fpF);
      await setValue(fc, f.adminToken, storeId, key, Buffer.from("intact value"));
      const [row] = await frows.all<{ blob: Buffer }>("select blob from entries where key_id = ?", [
        key.keyId,
      ]);
      const blob = Buffer.from(row?.blob ?? []);
      blob[blob.length - 1] = (blob[blob.length - 1] ?? 0) ^ 0x01;
      await frows.run("update entries set blob = ? where key_id = ?", [blob, key.keyId]);
      const readers = [
        () => call(fc.vault, fc.vault.getValue, { storeId, key, previousKeys: [] }, fmd()),
        () => call(fc.vault, fc.vault.batchGetValues, { storeId, keys: [key] }, fmd()),
        () => listPages(fc, { storeId }, fmd()),
      ];
      for (const read of readers) {
        const error = await expectStatus(read(), status.DATA_LOSS, "DATA_CORRUPTED");
        expectGeneric(error, "DATA_CORRUPTED");
        expect(error.details).toMatch(/^stored data failed its integrity check/);
      }
    });

    it("a store key that cannot be unwrapped is DATA_LOSS, never the data", async () => {
      const storeId = await createStore(fc, f.adminToken, "faults-wrapped-key");
      await frows.run("update stores set wrapped_key = ? where id = ?", [randomBytes(61), storeId]);
      const error = await expectStatus(
        call(fc.vault, fc.vault.getValue, { storeId, key: keyRef(fpF), previousKeys: [] }, fmd()),
        status.DATA_LOSS,
        "DATA_CORRUPTED",
      );
      expectGeneric(error, "DATA_CORRUPTED");
    });

    it("a database error in one write is INTERNAL with a generic message; the writes batched with it succeed", async () => {
      const victim = await createStore(fc, f.adminToken, "faults-trigger");
      const bystander = await createStore(fc, f.adminToken, "faults-bystander");
      const bystanderFp = newFingerprint();
      // Prime both stores so the writes below race only in the batcher.
      await setValue(fc, f.adminToken, victim, keyRef(fpF), Buffer.from("before"));
      await setValue(fc, f.adminToken, bystander, keyRef(bystanderFp), Buffer.from("before"));
      const cause = "boom at /srv/hexclave/secret-path.db: SELECT blob FROM entries";
      const [{ uid }] = (await frows.all("select uid from stores where id = ?", [victim])) as [
        { uid: Buffer },
      ];
      if (backend.name === "sqlite") {
        await frows.run(
          `create trigger fail_victim before insert on entries when new.store_uid = x'${uid.toString("hex")}' ` +
            `begin select raise(abort, '${cause}'); end`,
        );
      } else {
        await frows.run(
          `create function fail_victim() returns trigger language plpgsql as $$ begin raise exception '${cause}'; end $$`,
        );
        await frows.run(
          `create trigger fail_victim before insert on entries for each row when (new.store_uid = '\\x${uid.toString("hex")}'::bytea) execute function fail_victim()`,
        );
      }
      const before = await frows.snapshot();
      const bystanderKeys = Array.from({ length: 20 }, () => keyRef(bystanderFp));
      const [failed, ...neighbours] = await Promise.allSettled([
        setValue(fc, f.adminToken, victim, keyRef(fpF), Buffer.from("never stored")),
        ...bystanderKeys.map((k) => setValue(fc, f.adminToken, bystander, k, Buffer.from("ok"))),
      ]);
      expect(neighbours.every((n) => n.status === "fulfilled")).toBe(true);
      expect(failed?.status).toBe("rejected");
      const error = await expectStatus(
        Promise.reject((failed as PromiseRejectedResult).reason),
        status.INTERNAL,
        "INTERNAL",
      );
      expectGeneric(error, "INTERNAL", "secret-path");
      expect(error.details).toMatch(/^internal error \(request id [0-9a-f]{8}-[0-9a-z]+\)/);
      const after = await frows.snapshot();
      const victimUid = uid.toString("hex");
      const victimRows = (snap: Record<string, unknown[]>) =>
        (snap.entries ?? []).filter((r) => String(r).includes(victimUid));
      expect(victimRows(after)).toEqual(victimRows(before));
      await frows.run(
        backend.name === "sqlite"
          ? "drop trigger fail_victim"
          : "drop trigger fail_victim on entries",
      );
    });

    it("a dropped table makes calls INTERNAL with a generic message, not the database's error", async () => {
      const storeId = await createStore(fc, f.adminToken, "faults-dropped");
      await setValue(fc, f.adminToken, storeId, keyRef(fpF), Buffer.from("v"));
      await frows.run("drop table store_secrets");
      for (const attempt of [
        () => call(fc.vault, fc.vault.describeStore, { storeId }, fmd()),
        () => call(fc.admin, fc.admin.listStores, {}, fmd()),
        () => setValue(fc, f.adminToken, storeId, keyRef(fpF), Buffer.from("w")),
      ]) {
        const error = await expectStatus(attempt(), status.INTERNAL, "INTERNAL");
        expectGeneric(error, "INTERNAL", "store_secrets");
      }
    });
  });
});
