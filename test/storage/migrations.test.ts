import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Kysely, Migrator, SqliteDialect } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { migrationProvider } from "../../src/storage/migrations.js";
import { openStorage } from "../../src/storage/open-storage.js";
import type { Database } from "../../src/storage/schema.js";
import { serverIdentity } from "../../src/storage/server-registry.js";
import { openSqlite } from "../../src/storage/sqlite-database.js";
import { SQLITE_COLUMN_TYPES, SQLITE_FILE_NAME } from "../../src/storage/sqlite-storage.js";

/**
 * A server started on a database written by an earlier version migrates it
 * on start, and its data keeps its meaning: here, store-wide versions start
 * above every version already handed out, so no new write can reuse one.
 */
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe("migrations", () => {
  it("0002 starts each store's version counter at the highest version its entries hold", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "hexclave-migrate-"));
    dirs.push(dataDir);
    const db = new Kysely<Database>({
      dialect: new SqliteDialect({ database: openSqlite(join(dataDir, SQLITE_FILE_NAME)) }),
    });
    const migrator = new Migrator({ db, provider: migrationProvider(SQLITE_COLUMN_TYPES) });
    expect((await migrator.migrateTo("0001_initial")).error).toBeUndefined();
    const uid = randomBytes(16);
    const store = {
      uid,
      description: "",
      salt: randomBytes(32),
      wrapped_key: randomBytes(61),
      master_key_id: randomBytes(8),
      max_value_bytes: 65536,
      entry_count: 2,
      total_value_bytes: 0,
      created_at: 1,
      deleted_at: null,
    };
    // Written with the 0001 schema: no last_version column yet.
    await (db as unknown as Kysely<{ stores: Omit<typeof store, "id"> & { id: string } }>)
      .insertInto("stores")
      .values({ ...store, id: "old" })
      .execute();
    for (const version of [3, 7]) {
      await db
        .insertInto("entries")
        .values({
          store_uid: uid,
          key_id: randomBytes(32),
          fingerprint: randomBytes(8),
          blob: randomBytes(100),
          version,
          updated_at: 1,
        })
        .execute();
    }
    await db.destroy();

    const storage = await openStorage({
      dataDir,
      masterKeys: [randomBytes(32)],
      server: serverIdentity(),
    });
    try {
      expect((await storage.reads.findStore("old"))?.lastVersion).toBe(7);
    } finally {
      await storage.close();
    }
  });
});
