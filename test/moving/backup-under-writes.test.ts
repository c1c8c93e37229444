import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterAll, beforeAll, expect, it } from "vitest";
import { generateSecret, HexclaveClient } from "../../src/client/index.js";
import { startClientFixture } from "../client/support/client-fixture.js";
import { forEachBackend } from "../support/backends.js";
import { newFingerprint } from "../support/vault-fixtures.js";
import { freshPostgresDatabase } from "../support/with-postgres.js";
import { startWriteLoad } from "../support/write-load.js";
import { runCli, runCliJson } from "./support/cli.js";
import { digestAt } from "./support/database-digests.js";
import { type MasterKeyFile, newMasterKeyFile } from "./support/master-key-files.js";

/**
 * `hexclave backup` beside a server taking writes: the file is one
 * consistent moment (its counts agree with its rows), it holds every write
 * acknowledged before the backup began, it is owner-only, and it restores
 * into a fresh data directory — or a PostgreSQL database — where a server
 * opens every value with its secret.
 */

const SDK_VALUES = 200;
const secret = generateSecret();
let work: string;
let mk: MasterKeyFile;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "hexclave-backup-"));
  mk = await newMasterKeyFile(work, "master.key");
});
afterAll(() => rm(work, { recursive: true, force: true }));

/** Reads every value back through a server started on `where`, with the SDK. */
async function expectEveryValue(where: { dataDir: string; databaseUrl?: string }): Promise<void> {
  const f = await startClientFixture({ ...where, masterKeyFile: mk.file });
  try {
    const client = new HexclaveClient({ address: f.server.address, token: f.server.adminToken });
    const store = await client.getDataVaultStore("sealed");
    const names = Array.from({ length: SDK_VALUES }, (_, i) => `user:${i}`);
    const values = await store.getValues(names, { secret });
    for (const [i, name] of names.entries()) expect(values.get(name)).toBe(`token ${i}`);
    client.close();
  } finally {
    await f.close();
  }
}

forEachBackend((backend) => {
  it("is one consistent moment holding every acknowledged write, and restores into a server that opens every value", async () => {
    const storage = await backend.fresh();
    const where = storage.databaseUrl === undefined ? { dataDir: storage.dataDir } : storage;
    const locate =
      storage.databaseUrl === undefined
        ? ["--data-dir", storage.dataDir]
        : ["--database-url", storage.databaseUrl];
    const f = await startClientFixture({ ...where, masterKeyFile: mk.file });
    const file = join(work, `${backend.name}.backup`);
    try {
      await f.createStore("sealed");
      const store = await f.client().getDataVaultStore("sealed");
      await Promise.all(
        Array.from({ length: SDK_VALUES }, (_, i) =>
          store.setValue(`user:${i}`, `token ${i}`, { secret }),
        ),
      );
      await f.createStore("load");
      const load = startWriteLoad([f.raw], {
        storeId: "load",
        token: f.server.adminToken,
        fingerprint: newFingerprint(),
      });
      await load.until(() => load.succeeded.count >= 200);
      // Every version acknowledged so far, per key: all of them came back before the backup began.
      const acknowledged = new Map(
        [...load.ledger].map(([keyId, k]) => [keyId, Math.max(0, ...k.acks.keys())]),
      );
      const during = load.succeeded.count;
      const backup = await runCliJson<{ bytes: number; seconds: number }>([
        "backup",
        "--to",
        file,
        ...locate,
      ]);
      await load.until(() => load.succeeded.count >= during + 50);
      await load.stop();
      expect(load.failures).toEqual([]);
      process.stderr.write(
        `backup from ${backend.name} under writes: ${backup.bytes} bytes in ${backup.seconds} s\n`,
      );

      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const raw = new BetterSqlite3(file, { readonly: true });
      const rows = raw
        .prepare(
          "select key_id, version from entries where store_uid = (select uid from stores where id = 'load')",
        )
        .all() as { key_id: Buffer; version: number }[];
      raw.close();
      const inBackup = new Map(rows.map((r) => [r.key_id.toString("hex"), r.version]));
      for (const [keyId, version] of acknowledged) {
        if (version === 0) continue;
        expect(inBackup.get(keyId), `key ${keyId.slice(0, 8)}`).toBeGreaterThanOrEqual(version);
      }

      const verified = await runCliJson<{ ok: boolean; integrity: string[] }>([
        "backup",
        "verify",
        file,
        "--master-key-file",
        mk.file,
      ]);
      expect(verified).toMatchObject({ ok: true, integrity: ["ok"] });
    } finally {
      await f.close();
    }

    // Restored into a fresh data directory: the vault's own check finds the counts equal to
    // the rows (one moment, not a mix), every entry opens at rest, and the server opens every value.
    const restored = join(work, `${backend.name}-restored`);
    const env = { HEXCLAVE_MASTER_KEY_FILE: mk.file };
    const restore = await runCli(["restore", "--from", file, "--data-dir", restored], env);
    expect(restore.code, restore.stderr).toBe(0);
    const check = await runCli(["verify", "--data-dir", restored], env);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/^integrity: ok$/m);
    await expectEveryValue({ dataDir: restored });

    if (backend.name !== "postgres") return;
    // A PostgreSQL backup restores into PostgreSQL too, with the same rows as the file.
    const url = await freshPostgresDatabase();
    const intoPostgres = await runCli(["restore", "--from", file, "--database-url", url], env);
    expect(intoPostgres.code, intoPostgres.stderr).toBe(0);
    expect(await digestAt({ databaseUrl: url })).toEqual(await digestAt({ sqliteFile: file }));
    await expectEveryValue({ dataDir: join(work, `${backend.name}-pg-empty`), databaseUrl: url });
  }, 180_000);
});
