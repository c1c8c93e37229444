import { randomBytes } from "node:crypto";
import { copyFile, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterAll, beforeAll, expect, it } from "vitest";
import { generateSecret, HexclaveClient } from "../../src/client/index.js";
import { startClientFixture } from "../client/support/client-fixture.js";
import { type Backend, type BackendStorage, forEachBackend } from "../support/backends.js";
import { bearer, call } from "../support/grpc-clients.js";
import { postgresClient } from "../support/postgres-tables.js";
import { runCli } from "./support/cli.js";
import { type MasterKeyFile, newMasterKeyFile } from "./support/master-key-files.js";

/**
 * Threat: a backup in the wrong hands, or a restore that brings back more
 * than the operator meant. A backup holds data keys wrapped by the master
 * key and values sealed by the clients: without the master key nothing in
 * it opens, so restore refuses before writing anything, and a store deleted
 * after the backup (crypto-shredded in the live database) stays readable
 * from the backup only by whoever holds the master key. A backup altered
 * after it was made is refused too.
 */

const secret = generateSecret();
let work: string;
let mk: MasterKeyFile;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "hexclave-restore-"));
  mk = await newMasterKeyFile(work, "master.key");
});
afterAll(() => rm(work, { recursive: true, force: true }));

/** A target of the backend's kind, as restore flags; and whether anything was written there. */
async function restoreTarget(backend: Backend): Promise<{
  flags: string[];
  storage: Pick<BackendStorage, "dataDir" | "databaseUrl">;
  untouched(): Promise<boolean>;
}> {
  const fresh = await backend.fresh();
  if (fresh.databaseUrl === undefined) {
    const dataDir = join(fresh.dataDir, "restored");
    return {
      flags: ["--data-dir", dataDir],
      storage: { dataDir, databaseUrl: undefined },
      untouched: () =>
        readdir(dataDir).then(
          () => false,
          () => true,
        ),
    };
  }
  const url = fresh.databaseUrl;
  return {
    flags: ["--database-url", url],
    storage: fresh,
    async untouched() {
      const client = await postgresClient(url);
      try {
        const { rows } = await client.query(
          "select count(*)::int as n from pg_tables where schemaname = 'public'",
        );
        return rows[0].n === 0;
      } finally {
        await client.end();
      }
    },
  };
}

forEachBackend((backend) => {
  let file: string;

  beforeAll(async () => {
    const storage = await backend.fresh();
    const f = await startClientFixture({
      dataDir: storage.dataDir,
      databaseUrl: storage.databaseUrl,
      masterKeyFile: mk.file,
    });
    file = join(work, `${backend.name}.backup`);
    try {
      await f.createStore("kept");
      await f.createStore("shredded");
      const client = f.client();
      await (await client.getDataVaultStore("kept")).setValue("k", "kept value", { secret });
      await (await client.getDataVaultStore("shredded")).setValue("s", "shredded value", {
        secret,
      });
      const locate =
        storage.databaseUrl === undefined
          ? ["--data-dir", storage.dataDir]
          : ["--database-url", storage.databaseUrl];
      const backup = await runCli(["backup", "--to", file, ...locate]);
      expect(backup.code, backup.stderr).toBe(0);
      // Deleted after the backup: its key is destroyed in the live database.
      await call(
        f.raw.admin,
        f.raw.admin.deleteStore,
        { storeId: "shredded" },
        bearer(f.server.adminToken),
      );
    } finally {
      await f.close();
    }
  });

  it("without the master key restore refuses before writing anything; with it, even the deleted store's values open", async () => {
    const target = await restoreTarget(backend);
    const none = await runCli(["restore", "--from", file, ...target.flags]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/restore needs the master key the backup was made under/);

    const wrong = await runCli(["restore", "--from", file, ...target.flags], {
      HEXCLAVE_MASTER_KEY: randomBytes(32).toString("base64"),
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(
      /the master key does not open this backup \(store "(kept|shredded)" is wrapped under master key [0-9a-f]{16}, which was not given .*nothing was restored/,
    );
    expect(await target.untouched()).toBe(true);

    const right = await runCli(["restore", "--from", file, ...target.flags], {
      HEXCLAVE_MASTER_KEY_FILE: mk.file,
    });
    expect(right.code, right.stderr).toBe(0);
    const f = await startClientFixture({ ...target.storage, masterKeyFile: mk.file });
    try {
      const client = new HexclaveClient({ address: f.server.address, token: f.server.adminToken });
      const shredded = await client.getDataVaultStore("shredded");
      expect(await shredded.getValue("s", { secret })).toBe("shredded value");
      const kept = await client.getDataVaultStore("kept");
      expect(await kept.getValue("k", { secret })).toBe("kept value");
      client.close();
    } finally {
      await f.close();
    }
  });

  it("refuses a target that holds data unless --force, which replaces it", async () => {
    const target = await restoreTarget(backend);
    const env = { HEXCLAVE_MASTER_KEY_FILE: mk.file };
    expect((await runCli(["restore", "--from", file, ...target.flags], env)).code).toBe(0);
    const again = await runCli(["restore", "--from", file, ...target.flags], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/is not empty: copy into an empty database/);
    const forced = await runCli(["restore", "--from", file, "--force", ...target.flags], env);
    expect(forced.code, forced.stderr).toBe(0);
  });

  it("flags a backup altered after it was made, and restore refuses it, writing nothing", async () => {
    const altered = join(work, `${backend.name}-altered.backup`);
    await copyFile(file, altered);
    const raw = new BetterSqlite3(altered);
    const first = raw.prepare("select key_id, blob from entries limit 1").get() as
      | { key_id: Buffer; blob: Buffer }
      | undefined;
    expect(first).toBeDefined();
    const blob = Buffer.from(first?.blob ?? []);
    blob[blob.length - 1] = (blob[blob.length - 1] ?? 0) ^ 1;
    raw.prepare("update entries set blob = ? where key_id = ?").run(blob, first?.key_id);
    raw.close();

    const verify = await runCli(["backup", "verify", altered]);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/problem: store "(kept|shredded)" differs/);

    const target = await restoreTarget(backend);
    const restore = await runCli(["restore", "--from", altered, ...target.flags], {
      HEXCLAVE_MASTER_KEY_FILE: mk.file,
    });
    expect(restore.code).toBe(1);
    expect(restore.stderr).toMatch(
      /the backup file changed since it was made .*nothing was restored/,
    );
    expect(await target.untouched()).toBe(true);
  });
});
