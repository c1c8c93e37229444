import { randomBytes } from "node:crypto";
import { closeSync, existsSync, fsyncSync, openSync } from "node:fs";
import { rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { writeManifest } from "./backup-manifest.js";
import { type DatabaseDigest, digestDatabase } from "./database-digest.js";
import { type DatabaseLocation, describeLocation, sqliteFileOf } from "./database-location.js";
import type { Database } from "./schema.js";
import { copySqliteOnline } from "./sqlite-online-backup.js";
import { transferDatabase } from "./transfer-database.js";

/** What a backup made. */
export interface BackupReport {
  readonly file: string;
  readonly bytes: number;
  readonly source: "sqlite" | "postgres";
  readonly takenAt: string;
  readonly digest: DatabaseDigest;
}

/**
 * Backs up a vault's database, beside running servers, into one SQLite file
 * holding one consistent moment of it (whatever the source engine, a backup
 * is an SQLite file with the vault's schema, restorable into either):
 *
 * - SQLite: SQLite's online backup API in a single step (sqlite-online-backup.ts);
 * - PostgreSQL: the logical copy `migrate` uses, read in one REPEATABLE READ,
 *   READ ONLY transaction, and checked against the source's digest.
 *
 * Either way the file then holds the live stores only (a deleted store's
 * rows, whose key is destroyed, are dropped) and no server registry, plus a
 * manifest with its digest (backup-manifest.ts). It is written under a
 * temporary name in the same directory, owner-only (0600), fsynced, renamed
 * into place and the directory fsynced: a crash leaves the old file or the
 * new one, never half of one. Values stay sealed as they are in the
 * database: reading them needs the master key (and the clients' secrets).
 *
 * @throws Error if the source cannot be read or the copy does not match it;
 *   the temporary file is removed.
 * @example
 * const report = await backupDatabase({ kind: "sqlite", dataDir: "/data" }, "/backups/vault.db");
 */
export async function backupDatabase(
  source: DatabaseLocation,
  file: string,
  onProgress?: (phase: string, done: number, total: number) => void,
): Promise<BackupReport> {
  const sourceFile = sqliteFileOf(source);
  if (sourceFile !== undefined && !existsSync(sourceFile)) {
    throw new Error(`${describeLocation(source)} holds no Hexclave database: check --data-dir`);
  }
  if (!existsSync(dirname(file))) {
    throw new Error(`the directory of ${file} does not exist: create it first`);
  }
  const temporary = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  // Owner-only from its first byte: the file holds every wrapped key and sealed blob.
  closeSync(openSync(temporary, "wx", 0o600));
  try {
    const takenAt = new Date().toISOString();
    let digest: DatabaseDigest;
    if (source.kind === "postgres") {
      const report = await transferDatabase({
        source,
        target: { kind: "sqlite-file", file: temporary },
        allowLiveSource: true,
        ...(onProgress === undefined ? {} : { onProgress }),
      });
      digest = report.digest;
    } else {
      await copySqliteOnline(sourceFile as string, temporary);
      digest = await tidyCopy(temporary);
    }
    finish(temporary, {
      format: 1,
      takenAt,
      source: source.kind === "postgres" ? "postgres" : "sqlite",
      digest,
    });
    await rename(temporary, file);
    fsyncPath(dirname(file), "r");
    return {
      file,
      bytes: (await stat(file)).size,
      source: source.kind === "postgres" ? "postgres" : "sqlite",
      takenAt,
      digest,
    };
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
}

/**
 * Makes a page copy of a server's file into a backup: one file (rollback
 * journal, not WAL), no server registry, no deleted store's rows (their key is
 * already destroyed; secure_delete zeroes what they leave). @returns its digest.
 */
async function tidyCopy(file: string): Promise<DatabaseDigest> {
  const raw = new BetterSqlite3(file);
  raw.pragma("journal_mode = DELETE");
  raw.pragma("secure_delete = ON");
  raw.transaction(() => {
    raw.exec("delete from servers");
    const dead = "(select uid from stores where deleted_at is not null)";
    raw.exec(`delete from entries where store_uid in ${dead}`);
    raw.exec(`delete from store_secrets where store_uid in ${dead}`);
    raw.exec("delete from stores where deleted_at is not null");
  })();
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
  try {
    return await digestDatabase(db);
  } finally {
    await db.destroy();
  }
}

/** Writes the manifest, checks the file, and puts it on disk (fsync). */
function finish(file: string, manifest: Parameters<typeof writeManifest>[1]): void {
  const raw = new BetterSqlite3(file);
  try {
    raw.pragma("journal_mode = DELETE");
    writeManifest(raw, manifest);
    const check = (raw.pragma("integrity_check") as { integrity_check: string }[]).map(
      (r) => r.integrity_check,
    );
    if (check.length !== 1 || check[0] !== "ok") {
      throw new Error(
        `the backup copy fails SQLite's integrity check: ${check.slice(0, 3).join("; ")}`,
      );
    }
  } finally {
    raw.close();
  }
  fsyncPath(file, "r+");
}

function fsyncPath(path: string, flags: "r" | "r+"): void {
  const fd = openSync(path, flags);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
