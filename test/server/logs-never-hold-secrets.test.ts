import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { type Metadata, status } from "@grpc/grpc-js";
import { afterAll, expect, it } from "vitest";
import type { KeyRef } from "../../gen/hexclave/v1/types.js";
import { DescribeStoreRequest } from "../../gen/hexclave/v1/vault_service.js";
import { bearer, call, expectStatus, rawClients } from "../support/grpc-clients.js";
import { frame, rawCall, rawSession } from "../support/raw-http2.js";
import { type ControlledServer, launch, stop, tempDataDir } from "../support/server-control.js";
import { withDataFile } from "../support/sqlite-files.js";
import {
  createStore,
  createToken,
  keyRef,
  listPages,
  newFingerprint,
} from "../support/vault-fixtures.js";

/**
 * Threat: secrets copied into logs, which are shipped, indexed and kept far
 * longer and wider than the vault's data. At the most verbose level, through
 * successes and every kind of failure, no log line may hold a token, a full
 * key id, a sealed value or the master key, in any common encoding.
 */

let dataDir: string | undefined;
let server: ControlledServer | undefined;

afterAll(async () => {
  if (server !== undefined) await stop(server, "SIGKILL");
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

/** The forms a secret could be logged in. */
function forms(secret: Buffer | string): string[] {
  const bytes = typeof secret === "string" ? Buffer.from(secret) : secret;
  const out = [
    bytes.toString("hex"),
    bytes.toString("base64").replace(/=+$/, ""),
    bytes.toString("base64url"),
  ];
  if (typeof secret === "string") out.push(secret);
  // JSON escapes would hide raw bytes; text values are checked as they are.
  return out;
}

it("no log line holds a token, a full key id, a sealed value or the master key", async () => {
  dataDir = await tempDataDir("hexclave-logs-");
  const adminToken = `logs-admin-${randomBytes(24).toString("base64url")}`;
  server = await launch({
    HEXCLAVE_DATA_DIR: dataDir,
    HEXCLAVE_ADMIN_TOKEN: adminToken,
    HEXCLAVE_LOG_LEVEL: "trace",
    // Every line grpc-js can print: its traces hold request headers, tokens included.
    GRPC_TRACE: "all",
    GRPC_VERBOSITY: "DEBUG",
    // A row is corrupted under the running server to log a fault: no cache in the way.
    HEXCLAVE_CACHE_MB: "0",
  });
  const c = rawClients(server.address);
  const admin = bearer(adminToken);
  const secrets: { what: string; value: Buffer | string }[] = [
    { what: "admin token", value: adminToken },
  ];
  const refused = async (promise: Promise<unknown>, code: status, reason: string) => {
    await expectStatus(promise, code, reason);
  };

  await createStore(c, adminToken, "logged", { maxValueBytes: 4096 });
  const fp = newFingerprint();
  const reader = await createToken(c, adminToken, [
    { storeId: "logged", read: true, write: false },
  ]);
  const otherAdmin = await createToken(c, adminToken, "admin");
  secrets.push(
    { what: "reader token", value: reader.secret },
    { what: "admin token 2", value: otherAdmin.secret },
  );
  secrets.push({ what: "reader token secret part", value: reader.secret.slice(-43) });

  // Sealed values shaped like envelopes: version byte, fingerprint, then the rest.
  const keys: KeyRef[] = [];
  for (let i = 0; i < 6; i++) {
    const key = keyRef(fp);
    const sealed = Buffer.concat([
      Buffer.of(1),
      fp,
      Buffer.from(`SEALED-VALUE-${randomBytes(12).toString("hex")}`),
    ]);
    keys.push(key);
    secrets.push(
      { what: `key id ${i}`, value: key.keyId },
      { what: `sealed value ${i}`, value: sealed },
    );
    secrets.push({ what: `sealed value ${i} text`, value: sealed.subarray(9).toString() });
    await call(
      c.vault,
      c.vault.setValue,
      { storeId: "logged", key, sealedValue: sealed, previousKeys: [] },
      admin,
    );
  }
  const [k0, k1, k2] = keys as [KeyRef, KeyRef, KeyRef];
  await call(
    c.vault,
    c.vault.getValue,
    { storeId: "logged", key: k0, previousKeys: [k1] },
    bearer(reader.secret),
  );
  await call(c.vault, c.vault.batchGetValues, { storeId: "logged", keys }, admin);
  await listPages(c, { storeId: "logged", pageSize: 2n }, admin);
  await call(c.vault, c.vault.deleteValue, { storeId: "logged", key: k2, previousKeys: [] }, admin);
  await call(c.admin, c.admin.listTokens, { includeRevoked: true }, admin);
  await call(c.admin, c.admin.listStores, {}, admin);

  // Failures of every kind, each logged at warn or debug.
  const bogus = `hxk_${randomBytes(8).toString("hex")}_${randomBytes(32).toString("base64url")}`;
  const wrongSecret = `hxk_${reader.id}_${randomBytes(32).toString("base64url")}`;
  secrets.push(
    { what: "bogus token", value: bogus },
    { what: "wrong-secret token", value: wrongSecret },
  );
  const header = (value: string): Metadata => {
    const m = bearer(undefined);
    m.set("authorization", value);
    return m;
  };
  const describeWith = (m: Metadata) =>
    call(c.vault, c.vault.describeStore, { storeId: "logged" }, m);
  await refused(describeWith(bearer(undefined)), status.UNAUTHENTICATED, "TOKEN_MISSING");
  await refused(describeWith(bearer(bogus)), status.UNAUTHENTICATED, "TOKEN_INVALID");
  await refused(describeWith(bearer(wrongSecret)), status.UNAUTHENTICATED, "TOKEN_INVALID");
  await refused(
    describeWith(header(`Basic ${adminToken}`)),
    status.UNAUTHENTICATED,
    "TOKEN_INVALID",
  );
  await refused(
    describeWith(header(`Bearer ${bogus} trailing`)),
    status.UNAUTHENTICATED,
    "TOKEN_INVALID",
  );
  // Values grpc-js itself drops, once logging them whole: a tab after "Bearer", a trailing
  // non-breaking space, a line break, a control character.
  const session = await rawSession(server.address);
  const describeBody = frame(
    Buffer.from(DescribeStoreRequest.encode({ storeId: "logged" }).finish()),
  );
  for (const value of [
    `Bearer\t${reader.secret}`,
    `Bearer ${reader.secret}\u00a0`,
    `Bearer\t${adminToken}`,
    `Bearer ${reader.secret}\u0001`,
  ]) {
    const answer = await rawCall(
      session,
      "/hexclave.v1.VaultService/DescribeStore",
      { authorization: value },
      describeBody,
    );
    expect(answer.grpcStatus).toBe(status.UNAUTHENTICATED);
  }
  session.close();
  await call(c.admin, c.admin.revokeToken, { tokenId: otherAdmin.id }, admin);
  await refused(describeWith(bearer(otherAdmin.secret)), status.UNAUTHENTICATED, "TOKEN_REVOKED");
  await refused(
    call(
      c.vault,
      c.vault.setValue,
      { storeId: "logged", key: k0, sealedValue: Buffer.alloc(9), previousKeys: [] },
      bearer(reader.secret),
    ),
    status.PERMISSION_DENIED,
    "PERMISSION_DENIED",
  );
  const tooBig = Buffer.concat([Buffer.of(1), fp, randomBytes(5000)]);
  secrets.push({ what: "oversize sealed value", value: tooBig });
  await refused(
    call(
      c.vault,
      c.vault.setValue,
      { storeId: "logged", key: k0, sealedValue: tooBig, previousKeys: [] },
      admin,
    ),
    status.INVALID_ARGUMENT,
    "VALUE_TOO_LARGE",
  );
  await refused(
    call(
      c.vault,
      c.vault.setValue,
      {
        storeId: "logged",
        key: k0,
        sealedValue: Buffer.from("x"),
        previousKeys: [],
        expectedVersion: 7n,
      },
      admin,
    ),
    status.ABORTED,
    "VERSION_CONFLICT",
  );
  const stranger = keyRef(newFingerprint());
  secrets.push({ what: "unknown-secret key id", value: stranger.keyId });
  await refused(
    call(c.vault, c.vault.getValue, { storeId: "logged", key: stranger, previousKeys: [] }, admin),
    status.FAILED_PRECONDITION,
    "UNKNOWN_SECRET",
  );
  const shortKey = { keyId: randomBytes(31), secretFingerprint: fp };
  secrets.push({ what: "malformed key id", value: shortKey.keyId });
  await refused(
    call(c.vault, c.vault.getValue, { storeId: "logged", key: shortKey, previousKeys: [] }, admin),
    status.INVALID_ARGUMENT,
    "INVALID_KEY_ID",
  );

  // A server fault, logged with its cause at error level.
  withDataFile(dataDir, (db) => {
    const blob = db
      .prepare("select blob from entries where key_id = ?")
      .pluck()
      .get(k1.keyId) as Buffer;
    secrets.push({ what: "stored at-rest blob", value: blob });
    db.prepare("update entries set blob = ? where key_id = ?").run(
      Buffer.from(blob).reverse(),
      k1.keyId,
    );
  });
  await refused(
    call(c.vault, c.vault.getValue, { storeId: "logged", key: k1, previousKeys: [] }, admin),
    status.DATA_LOSS,
    "DATA_CORRUPTED",
  );
  c.close();
  const p = server;
  expect(await stop(p, "SIGTERM")).toEqual({ code: 0, signal: null });
  server = undefined;

  const masterKey = Buffer.from(readFileSync(join(dataDir, "master.key"), "utf8").trim(), "base64");
  secrets.push({ what: "master key", value: masterKey });

  const text = `${p.logs.map((line) => JSON.stringify(line)).join("\n")}\n${p.stderr()}`;
  // grpc-js's own lines went through the server's logger, not around it.
  expect(p.logs.some((l) => l.source === "grpc-js")).toBe(true);
  expect(
    p.logs.filter((l) => l.msg?.toString().startsWith("dropped a request header")),
  ).not.toEqual([]);
  // The logs are there and verbose: one line per call, warnings for refused tokens, the fault with its cause.
  expect(p.logs.filter((l) => l.msg === "call").length).toBeGreaterThanOrEqual(15);
  expect(p.logs.filter((l) => l.msg === "call refused: authentication").length).toBe(10);
  expect(p.logs.filter((l) => l.msg === "call refused").length).toBeGreaterThanOrEqual(5);
  expect(
    p.logs.some(
      (l) => l.msg === "call failed" && l.reason === "DATA_CORRUPTED" && l.err !== undefined,
    ),
  ).toBe(true);

  expect(text).toContain("hexclave.v1.VaultService/SetValue");

  for (const { what, value } of secrets) {
    for (const form of forms(value)) {
      expect(text.includes(form), `${what} appears in the log as ${form.slice(0, 16)}…`).toBe(
        false,
      );
    }
  }
});
