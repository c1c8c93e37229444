import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { generateSecret, HexclaveClient } from "../../src/client/index.js";
import type { StartServerOptions } from "../../src/server/index.js";
import { startClientFixture } from "../client/support/client-fixture.js";
import { type BackendStorage, forEachBackend } from "../support/backends.js";
import { newFingerprint } from "../support/vault-fixtures.js";
import { startWriteLoad } from "../support/write-load.js";
import { runCli, startCli } from "./support/cli.js";
import { type MasterKeyFile, newMasterKeyFile } from "./support/master-key-files.js";
import { freezeStoresAfter, storesUnder } from "./support/store-rows.js";

/**
 * `hexclave master-key rotate`: every store's data key re-wrapped under a
 * new master key, one store per transaction. A rotation killed midway leaves
 * each store under the old key or the new one, never neither; servers given
 * both keys serve throughout; a re-run finishes; then a server with only the
 * new key opens every value and one with only the old key refuses to start.
 * Audit records keep the key that made them: `audit verify` needs the old
 * key for them.
 */

const STORES = 100;
const secret = generateSecret();
let work: string;
let oldKey: MasterKeyFile;
let newKey: MasterKeyFile;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "hexclave-rotate-"));
  oldKey = await newMasterKeyFile(work, "old.key");
  newKey = await newMasterKeyFile(work, "new.key");
});
afterAll(() => rm(work, { recursive: true, force: true }));

type Where = Pick<BackendStorage, "dataDir" | "databaseUrl">;
const locate = (where: Where): string[] =>
  where.databaseUrl === undefined
    ? ["--data-dir", where.dataDir]
    : ["--database-url", where.databaseUrl];
const rotateArgs = (where: Where) => [
  "master-key",
  "rotate",
  "--new-key-file",
  newKey.file,
  ...locate(where),
];
/** The CLI's environment with the current (old) key, as the operator runs rotate. */
const underOld = (): Record<string, string> => ({ HEXCLAVE_MASTER_KEY_FILE: oldKey.file });

/** A server on `where` with these keys; every store's value opens with the secret. */
async function expectEveryValue(
  where: Where,
  keys: Pick<StartServerOptions, "masterKeyFile" | "previousMasterKeyFile">,
): Promise<void> {
  const f = await startClientFixture({ ...where, ...keys });
  try {
    const client = new HexclaveClient({ address: f.server.address, token: f.server.adminToken });
    await Promise.all(
      Array.from({ length: STORES }, async (_, i) => {
        const store = await client.getDataVaultStore(`s-${i}`);
        expect(await store.getValue("v", { secret })).toBe(`value ${i}`);
      }),
    );
    client.close();
  } finally {
    await f.close();
  }
}

async function fill(where: Where): Promise<void> {
  const f = await startClientFixture({ ...where, masterKeyFile: oldKey.file });
  try {
    const client = f.client();
    await Promise.all(
      Array.from({ length: STORES }, async (_, i) => {
        await f.createStore(`s-${i}`);
        const store = await client.getDataVaultStore(`s-${i}`);
        await store.setValue("v", `value ${i}`, { secret });
      }),
    );
  } finally {
    await f.close();
  }
}

forEachBackend((backend) => {
  it("killed midway, leaves every store under one of the two keys; a re-run finishes; then only the new key is needed", async () => {
    const where = await backend.fresh();
    await fill(where);

    // Kill the rotation after its first commits, with the stores table held so none lands in between.
    const run = startCli(rotateArgs(where), underOld());
    const frozen = await freezeStoresAfter(where, newKey.id, 3);
    const done = frozen.count;
    run.child.kill("SIGKILL");
    expect((await run.done).signal).toBe("SIGKILL");
    await frozen.release();
    expect(done).toBeLessThan(STORES);
    expect(await storesUnder(where, newKey.id)).toBe(done);
    expect(await storesUnder(where, oldKey.id)).toBe(STORES - done);

    // Half rotated: a server given both keys opens everything.
    await expectEveryValue(where, {
      masterKeyFile: newKey.file,
      previousMasterKeyFile: oldKey.file,
    });

    const rerun = await runCli([...rotateArgs(where), "--json"], underOld());
    expect(rerun.code, rerun.stderr).toBe(0);
    const report = JSON.parse(rerun.stdout) as {
      rewrapped: number;
      alreadyNew: number;
      keys: { id: string; stores: number; auditRecords: number; retired: boolean }[];
    };
    expect(report).toMatchObject({ rewrapped: STORES - done, alreadyNew: done });
    const old = report.keys.find((k) => k.id === oldKey.id);
    expect(old).toMatchObject({ stores: 0, retired: true });
    expect(old?.auditRecords).toBeGreaterThan(0);

    await expectEveryValue(where, { masterKeyFile: newKey.file });
    const withOldOnly = await startClientFixture({ ...where, masterKeyFile: oldKey.file }).then(
      async (f) => {
        await f.close();
        return undefined;
      },
      (error: unknown) => error as Error,
    );
    expect(withOldOnly?.message).toMatch(/is not the one stores .* were created with/);

    // Audit records made under the old key verify with it, and only with it.
    const newOnly = await runCli(["audit", "verify", ...locate(where)], {
      HEXCLAVE_MASTER_KEY_FILE: newKey.file,
    });
    expect(newOnly.code).toBe(1);
    expect(newOnly.stdout).toMatch(/unknown-key/);
    const both = await runCli(["audit", "verify", ...locate(where)], {
      HEXCLAVE_MASTER_KEY_FILE: newKey.file,
      HEXCLAVE_PREVIOUS_MASTER_KEY_FILE: oldKey.file,
    });
    expect(both.code, both.stdout + both.stderr).toBe(0);
  }, 180_000);

  if (backend.name === "postgres") {
    it("runs while servers with both keys serve: no call fails, and no value is lost", async () => {
      const where = await backend.fresh();
      await fill(where);
      const f = await startClientFixture({
        ...where,
        masterKeyFile: newKey.file,
        previousMasterKeyFile: oldKey.file,
      });
      try {
        await f.createStore("busy");
        const load = startWriteLoad([f.raw], {
          storeId: "busy",
          token: f.server.adminToken,
          fingerprint: newFingerprint(),
        });
        const client = f.client();
        const readAll = async (): Promise<void> => {
          await Promise.all(
            Array.from({ length: STORES }, async (_, i) => {
              const store = await client.getDataVaultStore(`s-${i}`);
              expect(await store.getValue("v", { secret })).toBe(`value ${i}`);
            }),
          );
        };
        // Opened under the old key first, so the server holds them as they were.
        await readAll();
        await load.until(() => load.succeeded.count >= 50);
        const rotate = await runCli(rotateArgs(where), underOld());
        expect(rotate.code, rotate.stderr).toBe(0);
        await readAll();
        const after = load.succeeded.count;
        await load.until(() => load.succeeded.count >= after + 50);
        await load.stop();
        expect(load.failures).toEqual([]);
      } finally {
        await f.close();
      }
      expect(await storesUnder(where, oldKey.id)).toBe(0);
      await expectEveryValue(where, { masterKeyFile: newKey.file });
    }, 180_000);
  } else {
    it("refuses to run beside a server holding the SQLite data directory, and says what to do", async () => {
      const where = await backend.fresh();
      const f = await startClientFixture({ ...where, masterKeyFile: oldKey.file });
      try {
        await f.createStore("held");
        const refused = await runCli(rotateArgs(where), underOld());
        expect(refused.code).toBe(1);
        expect(refused.stderr).toMatch(
          /a server is running on .*: on SQLite, stop it, run master-key rotate, then start it with the new key/,
        );
      } finally {
        await f.close();
      }
      expect(await storesUnder(where, oldKey.id)).toBe(1);
    });
  }
});
