import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, openSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { credentials, Metadata, status } from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import {
  HealthClient,
  HealthCheckResponse_ServingStatus as Serving,
} from "../../gen/grpc/health/v1/health.js";
import type { KeyRef } from "../../gen/hexclave/v1/types.js";
import { bearer, call, expectStatus, rawClients } from "../support/grpc-clients.js";
import { runToExit, serverFleet, stop, tempDataDir } from "../support/server-control.js";
import { CLI_PATH } from "../support/server-process.js";
import { withDataFile } from "../support/sqlite-files.js";
import { createStore, keyRef, newFingerprint, setValue } from "../support/vault-fixtures.js";

/**
 * Threat: a damaged database file (bad disk, bad copy, a bit flipped). It
 * used to read as "no value" or INTERNAL while health stayed SERVING and
 * writes kept going into the damage. Now a damaged file is refused at start,
 * a damage found while serving answers DATA_LOSS, turns health NOT_SERVING
 * and stops all writes, and `hexclave verify` names what a bit flip broke —
 * never serving a wrong value.
 */

const fleet = serverFleet();
afterAll(() => fleet.cleanup());
const PAGE = 4096;

function healthOf(address: string): Promise<Serving> {
  const client = new HealthClient(address, credentials.createInsecure());
  return new Promise<Serving>((resolve, reject) => {
    client.check({ service: "" }, new Metadata(), { deadline: Date.now() + 5000 }, (e, res) =>
      e === null ? resolve(res.status) : reject(e),
    );
  }).finally(() => client.close());
}

/** Overwrites every `step`th page of the file after the first `skip` with random bytes. */
function damagePages(file: string, skip: number, step: number): number {
  const pages = Math.floor(statSync(file).size / PAGE);
  const fd = openSync(file, "r+");
  let damaged = 0;
  try {
    for (let page = skip; page < pages - 2; page += step) {
      writeSync(fd, randomBytes(PAGE), 0, PAGE, page * PAGE);
      damaged += 1;
    }
  } finally {
    closeSync(fd);
  }
  return damaged;
}

async function fill(
  address: string,
  token: string,
  store: string,
  count: number,
): Promise<KeyRef[]> {
  const c = rawClients(address);
  await createStore(c, token, store);
  const fp = newFingerprint();
  const keys = Array.from({ length: count }, () => keyRef(fp));
  for (let i = 0; i < keys.length; i += 50) {
    await Promise.all(
      keys.slice(i, i + 50).map((k) => setValue(c, token, store, k, randomBytes(1500))),
    );
  }
  c.close();
  return keys;
}

describe("a damaged database", () => {
  it("is refused at start, saying to verify and restore", async () => {
    const dataDir = fleet.track(await tempDataDir("hexclave-damaged-start-"));
    const env = {
      HEXCLAVE_DATA_DIR: dataDir,
      HEXCLAVE_ADMIN_TOKEN: `dmg-admin-${randomBytes(24).toString("base64url")}`,
    };
    const server = await fleet.start(env);
    await fill(server.address, env.HEXCLAVE_ADMIN_TOKEN, "doomed", 400);
    await stop(server, "SIGTERM");
    expect(damagePages(join(dataDir, "hexclave.db"), 8, 3)).toBeGreaterThan(10);
    const refused = await runToExit(env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/is damaged .*hexclave verify.*restore/);
  });

  it("found while serving: DATA_LOSS, health NOT_SERVING, every write refused, never a wrong value", async () => {
    const dataDir = fleet.track(await tempDataDir("hexclave-damaged-live-"));
    const env = {
      HEXCLAVE_DATA_DIR: dataDir,
      HEXCLAVE_ADMIN_TOKEN: `dmg-admin-${randomBytes(24).toString("base64url")}`,
      // Reads must reach the file, not a cache of envelopes.
      HEXCLAVE_CACHE_MB: "0",
    };
    const server = await fleet.start(env);
    const token = env.HEXCLAVE_ADMIN_TOKEN;
    const keys = await fill(server.address, token, "live", 2000);
    // Move everything from the WAL into the main file, then damage the main file.
    withDataFile(dataDir, (db) => db.pragma("wal_checkpoint(TRUNCATE)"));
    damagePages(join(dataDir, "hexclave.db"), 8, 2);

    const c = rawClients(server.address);
    const md = bearer(token);
    let lost = 0;
    for (let i = 0; i < keys.length && lost === 0; i += 100) {
      const batch = keys.slice(i, i + 100);
      await call(c.vault, c.vault.batchGetValues, { storeId: "live", keys: batch }, md).then(
        (res) => {
          // Whatever is answered is what was written: right length, right key ids.
          for (const e of res.entries) {
            expect(batch.some((k) => k.keyId.equals(e.keyId))).toBe(true);
          }
        },
        (error: { code?: number }) => {
          expect(error.code).toBe(status.DATA_LOSS);
          lost += 1;
        },
      );
    }
    expect(lost).toBe(1);
    expect(await healthOf(server.address)).toBe(Serving.NOT_SERVING);
    await expectStatus(
      setValue(c, token, "live", keyRef(newFingerprint()), randomBytes(100)),
      status.DATA_LOSS,
      "DATA_CORRUPTED",
    );
    c.close();
    expect(server.logs.some((l) => String(l.msg).startsWith("the database is damaged"))).toBe(true);
  });

  it("hexclave verify names an entry whose key id had a bit flipped (it read as no value)", async () => {
    const dataDir = fleet.track(await tempDataDir("hexclave-damaged-flip-"));
    const env = {
      HEXCLAVE_DATA_DIR: dataDir,
      HEXCLAVE_ADMIN_TOKEN: `dmg-admin-${randomBytes(24).toString("base64url")}`,
    };
    const server = await fleet.start(env);
    const keys = await fill(server.address, env.HEXCLAVE_ADMIN_TOKEN, "flipped", 20);
    await stop(server, "SIGTERM");
    const victim = keys[7] as KeyRef;
    const flipped = Buffer.from(victim.keyId);
    flipped[5] = (flipped[5] as number) ^ 0x10;
    withDataFile(dataDir, (db) =>
      db.prepare("update entries set key_id = ? where key_id = ?").run(flipped, victim.keyId),
    );
    const run = promisify(execFile);
    const failed = await run(
      process.execPath,
      [CLI_PATH, "verify", "--data-dir", dataDir, "--json"],
      {
        env: { PATH: process.env.PATH ?? "" },
      },
    ).then(
      () => undefined,
      (error: { code?: number; stdout?: string }) => error,
    );
    expect(failed?.code).toBe(1);
    const report = JSON.parse(failed?.stdout ?? "{}") as {
      ok: boolean;
      integrity: string[];
      entries: number;
      problems: { kind: string; storeId: string; keyIdPrefix?: string }[];
    };
    expect(report.ok).toBe(false);
    expect(report.integrity).toEqual(["ok"]);
    expect(report.entries).toBe(20);
    expect(report.problems).toEqual([
      expect.objectContaining({
        kind: "entry-at-rest",
        storeId: "flipped",
        keyIdPrefix: flipped.subarray(0, 4).toString("hex"),
      }),
    ]);
    // And an untouched vault verifies clean.
    withDataFile(dataDir, (db) =>
      db.prepare("update entries set key_id = ? where key_id = ?").run(victim.keyId, flipped),
    );
    const clean = await run(process.execPath, [CLI_PATH, "verify", "--data-dir", dataDir], {
      env: { PATH: process.env.PATH ?? "" },
    });
    expect(clean.stdout).toContain("no problems found");
  });
});
