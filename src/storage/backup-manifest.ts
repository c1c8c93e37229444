import type BetterSqlite3 from "better-sqlite3";
import { type Kysely, sql } from "kysely";
import type { DatabaseDigest } from "./database-digest.js";
import type { Database } from "./schema.js";

/**
 * What a backup file says about itself, in a table of its own next to the
 * vault's tables: when it was made, from which engine, and the digest of
 * what it holds at that moment (database-digest.ts). `backup verify` and
 * `restore` recompute the digest and compare, so a file altered or damaged
 * since is noticed even where SQLite's own integrity check sees nothing.
 * The table is not part of the vault's schema; a server ignores it.
 */
export interface BackupManifest {
  /** This manifest's format. */
  readonly format: 1;
  /** When the snapshot was taken (ISO 8601). */
  readonly takenAt: string;
  /** The engine it was taken from. */
  readonly source: "sqlite" | "postgres";
  readonly digest: DatabaseDigest;
}

const TABLE = "hexclave_backup";

/**
 * Writes the manifest into a backup file being made.
 *
 * @example
 * writeManifest(raw, { format: 1, takenAt: new Date().toISOString(), source: "sqlite", digest });
 */
export function writeManifest(raw: BetterSqlite3.Database, manifest: BackupManifest): void {
  raw.exec(`create table if not exists ${TABLE} (name text primary key, value text not null)`);
  const put = raw.prepare(`insert or replace into ${TABLE} (name, value) values (?, ?)`);
  put.run("format", String(manifest.format));
  put.run("taken_at", manifest.takenAt);
  put.run("source", manifest.source);
  put.run("digest", JSON.stringify(manifest.digest));
}

/**
 * The manifest of a backup file; undefined for a database that has none (a
 * plain hexclave.db copied by hand).
 *
 * @throws Error if the manifest is there but unreadable.
 * @example
 * const manifest = await readManifest(snapshot);
 */
export async function readManifest(db: Kysely<Database>): Promise<BackupManifest | undefined> {
  const exists = await sql<{
    n: number;
  }>`select count(*) as n from sqlite_master where type = 'table' and name = ${TABLE}`
    .execute(db)
    .then((r) => Number(r.rows[0]?.n ?? 0) > 0)
    .catch(() => false);
  if (!exists) return undefined;
  const { rows } = await sql<{
    name: string;
    value: string;
  }>`select name, value from ${sql.table(TABLE)}`.execute(db);
  const value = new Map(rows.map((r) => [r.name, r.value]));
  if (value.get("format") !== "1") {
    throw new Error(
      `the backup's manifest has format ${value.get("format")}, which this version does not read`,
    );
  }
  return {
    format: 1,
    takenAt: value.get("taken_at") ?? "",
    source: value.get("source") === "postgres" ? "postgres" : "sqlite",
    digest: JSON.parse(value.get("digest") ?? "null") as DatabaseDigest,
  };
}
