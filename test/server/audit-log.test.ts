import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { status } from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import type { KeyRef } from "../../gen/hexclave/v1/types.js";
import { bearer, call, expectStatus, rawClients } from "../support/grpc-clients.js";
import { serverFleet, stop, tempDataDir } from "../support/server-control.js";
import { CLI_PATH } from "../support/server-process.js";
import { withDataFile } from "../support/sqlite-files.js";
import {
  createStore,
  createToken,
  getValue,
  keyRef,
  newFingerprint,
  setValue,
} from "../support/vault-fixtures.js";

/**
 * Threat: actions nobody can account for, and an audit trail an intruder
 * edits. Every call and every refusal is recorded (never a value, key name
 * or token); nothing is served without its record; `hexclave audit verify`
 * finds a deleted, altered or reordered record and says exactly where; old
 * records are pruned without breaking verification of the rest.
 */

const fleet = serverFleet();
afterAll(() => fleet.cleanup());
const run = promisify(execFile);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, [CLI_PATH, ...args], { env: { PATH: process.env.PATH ?? "" } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: error.code ?? -1,
      stdout: error.stdout ?? "",
      stderr: error.stderr ?? "",
    }),
  );
}

interface ListedRecord {
  method: string;
  storeId: string | null;
  tokenId: string | null;
  keyIdPrefix: string | null;
  code: number;
  reason: string;
  requestId: string;
  seq: number;
  chain: string;
}

async function auditList(dataDir: string, ...filters: string[]): Promise<ListedRecord[]> {
  const out = await cli(["audit", "list", "--data-dir", dataDir, "--json", ...filters]);
  expect(out.code, out.stderr).toBe(0);
  return JSON.parse(out.stdout) as ListedRecord[];
}

async function started(extra: Record<string, string> = {}) {
  const dataDir = fleet.track(await tempDataDir("hexclave-audit-"));
  const adminToken = `audit-admin-${randomBytes(24).toString("base64url")}`;
  const env = { HEXCLAVE_DATA_DIR: dataDir, HEXCLAVE_ADMIN_TOKEN: adminToken, ...extra };
  return { dataDir, adminToken, env, server: await fleet.start(env) };
}

describe("the audit log", () => {
  it("records every call and every refusal, with who, what and how, and never a secret", async () => {
    const { dataDir, adminToken, server } = await started({ HEXCLAVE_AUDIT_STDOUT: "1" });
    const c = rawClients(server.address);
    await createStore(c, adminToken, "audited");
    const reader = await createToken(c, adminToken, [
      { storeId: "audited", read: true, write: false },
    ]);
    const fp = newFingerprint();
    const key = keyRef(fp);
    const sealed = Buffer.from(`SEALED-${randomBytes(16).toString("hex")}`);
    await setValue(c, adminToken, "audited", key, sealed);
    await getValue(c, reader.secret, "audited", key);
    await expectStatus(
      setValue(c, reader.secret, "audited", key, sealed),
      status.PERMISSION_DENIED,
      "PERMISSION_DENIED",
    );
    const forged = `hxk_${randomBytes(8).toString("hex")}_${randomBytes(32).toString("base64url")}`;
    await expectStatus(
      getValue(c, forged, "audited", key),
      status.UNAUTHENTICATED,
      "TOKEN_INVALID",
    );
    c.close();
    await stop(server, "SIGTERM");

    const records = await auditList(dataDir);
    const methods = records.map((r) => `${r.method.replace(/^\/hexclave\.v1\./, "")} ${r.code}`);
    expect(methods).toEqual([
      "AdminService/CreateStore 0",
      "AdminService/CreateToken 0",
      "VaultService/SetValue 0",
      "VaultService/GetValue 0",
      "VaultService/SetValue 7",
      "VaultService/GetValue 16",
    ]);
    const read = records[3] as ListedRecord;
    expect(read).toMatchObject({
      storeId: "audited",
      tokenId: reader.id,
      keyIdPrefix: key.keyId.subarray(0, 4).toString("hex"),
      reason: "OK",
    });
    expect(records[4]).toMatchObject({ tokenId: reader.id, reason: "PERMISSION_DENIED" });
    // An unknown token is named by the id it claimed, so an operator can see the probing.
    expect(records[5]).toMatchObject({ tokenId: forged.slice(4, 20), reason: "TOKEN_INVALID" });
    // The filters.
    expect((await auditList(dataDir, "--token", reader.id)).map((r) => r.code)).toEqual([0, 7]);
    expect((await auditList(dataDir, "--code", "16")).map((r) => r.reason)).toEqual([
      "TOKEN_INVALID",
    ]);
    expect(await auditList(dataDir, "--store", "elsewhere")).toEqual([]);
    expect((await auditList(dataDir, "--method", "GetValue")).length).toBe(2);

    // Never a secret, in the database or the shipped lines.
    const stored = withDataFile(
      dataDir,
      (db) => JSON.stringify(db.prepare("select * from audit_log").all()),
      {
        readonly: true,
      },
    );
    const shipped = server.logs.filter((l) => "audit" in l);
    expect(shipped.length).toBe(records.length);
    for (const text of [stored, JSON.stringify(shipped)]) {
      for (const secret of [
        adminToken,
        reader.secret,
        forged,
        forged.slice(21),
        sealed.toString(),
        key.keyId.toString("hex"),
      ]) {
        expect(text.includes(secret)).toBe(false);
      }
    }
  });

  it("fails closed: a call whose record cannot be written is not served, and a write is not made", async () => {
    const { dataDir, adminToken, server } = await started();
    const c = rawClients(server.address);
    await createStore(c, adminToken, "closed");
    const fp = newFingerprint();
    const key = keyRef(fp);
    await setValue(c, adminToken, "closed", key, Buffer.from("first"));
    withDataFile(dataDir, (db) =>
      db.exec(
        "create trigger no_audit before insert on audit_log begin select raise(abort, 'audit refused'); end",
      ),
    );
    await expectStatus(
      getValue(c, adminToken, "closed", key),
      status.UNAVAILABLE,
      "AUDIT_UNAVAILABLE",
    );
    const other: KeyRef = keyRef(fp);
    await setValue(c, adminToken, "closed", other, Buffer.from("never")).then(
      () => expect.fail("a write was acknowledged without its audit record"),
      (error: { code?: number }) => expect(error.code).not.toBe(status.OK),
    );
    withDataFile(dataDir, (db) => db.exec("drop trigger no_audit"));
    expect(await getValue(c, adminToken, "closed", other)).toBeUndefined();
    expect(
      Buffer.from((await getValue(c, adminToken, "closed", key))?.sealedValue ?? []).toString(),
    ).toBe("first");
    c.close();
  });

  it("verify passes on an untouched log and names the record where a deletion, an edit or a swap breaks it", async () => {
    const { dataDir, adminToken, server } = await started();
    const c = rawClients(server.address);
    await createStore(c, adminToken, "chained");
    const fp = newFingerprint();
    for (let i = 0; i < 8; i++)
      await setValue(c, adminToken, "chained", keyRef(fp), randomBytes(32));
    c.close();
    await stop(server, "SIGTERM");
    const verify = () => cli(["audit", "verify", "--data-dir", dataDir, "--json"]);
    const clean = await verify();
    expect(clean.code, clean.stderr).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ ok: true, records: 9, breaks: [] });

    const tamper = (sql: string, ...params: unknown[]) =>
      withDataFile(dataDir, (db) => db.prepare(sql).run(...params));
    const copy = withDataFile(
      dataDir,
      (db) => db.prepare("select * from audit_log order by seq").all(),
      {
        readonly: true,
      },
    ) as Record<string, unknown>[];
    const restore = () =>
      withDataFile(dataDir, (db) => {
        db.exec("delete from audit_log");
        const insert = db.prepare(
          `insert into audit_log (${Object.keys(copy[0] as object).join(", ")}) values (${Object.keys(
            copy[0] as object,
          )
            .map(() => "?")
            .join(", ")})`,
        );
        for (const row of copy) insert.run(...Object.values(row));
      });
    const breakOf = async () => {
      const out = await verify();
      expect(out.code).toBe(1);
      return (JSON.parse(out.stdout) as { breaks: { seq: number; problem: string }[] }).breaks;
    };

    tamper("delete from audit_log where seq = 5");
    expect(await breakOf()).toEqual([expect.objectContaining({ seq: 5, problem: "missing" })]);
    restore();
    tamper("update audit_log set store_id = 'elsewhere' where seq = 6");
    expect(await breakOf()).toEqual([expect.objectContaining({ seq: 6, problem: "altered" })]);
    restore();
    // Swap records 3 and 4, each keeping its place number: reordered.
    tamper("update audit_log set seq = -3 where seq = 3");
    tamper("update audit_log set seq = 3 where seq = 4");
    tamper("update audit_log set seq = 4 where seq = -3");
    expect(await breakOf()).toEqual([expect.objectContaining({ seq: 3, problem: "out-of-order" })]);
    restore();
    expect((await verify()).code).toBe(0);
  });

  it("prunes records past the retention and what remains still verifies; a moved checkpoint does not", async () => {
    const { dataDir, adminToken, env, server } = await started();
    const c = rawClients(server.address);
    await createStore(c, adminToken, "kept");
    const fp = newFingerprint();
    for (let i = 0; i < 5; i++) await setValue(c, adminToken, "kept", keyRef(fp), randomBytes(32));
    c.close();
    await stop(server, "SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const pruning = await fleet.start({ ...env, HEXCLAVE_AUDIT_RETENTION: "1s" });
    const c2 = rawClients(pruning.address);
    // A call after the restart: the pruner ran at start, so the old chain is gone but this one is kept.
    await call(c2.admin, c2.admin.listStores, {}, bearer(adminToken));
    c2.close();
    await stop(pruning, "SIGTERM");
    const checkpoints = withDataFile(
      dataDir,
      (db) => db.prepare("select * from audit_checkpoints").all(),
      {
        readonly: true,
      },
    ) as { chain_id: string; seq: number }[];
    expect(checkpoints).toHaveLength(1);
    expect(checkpoints[0]?.seq).toBe(6);
    const out = await cli(["audit", "verify", "--data-dir", dataDir, "--json"]);
    expect(out.code, out.stdout).toBe(0);
    withDataFile(dataDir, (db) => db.prepare("update audit_checkpoints set seq = seq - 2").run());
    const moved = await cli(["audit", "verify", "--data-dir", dataDir, "--json"]);
    expect(moved.code).toBe(1);
    expect(JSON.parse(moved.stdout).breaks).toEqual([
      expect.objectContaining({ problem: "checkpoint-altered" }),
    ]);
  });
});
