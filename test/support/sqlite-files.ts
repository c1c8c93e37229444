import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";

/**
 * Direct access to a data directory's SQLite files, from outside the server:
 * the view an attacker with the disk (or a backup) has, and a second
 * connection for tests that tamper with rows.
 */

/** The files SQLite keeps for the embedded database. */
export const DATA_FILES = ["hexclave.db", "hexclave.db-wal", "hexclave.db-shm"] as const;

/**
 * Opens the server's database as a second connection. `readonly` leaves the
 * files exactly as they are (no checkpoint on close).
 */
export function openDataFile(
  dataDir: string,
  options: { readonly?: boolean } = {},
): BetterSqlite3.Database {
  const db = new BetterSqlite3(join(dataDir, "hexclave.db"), {
    fileMustExist: true,
    readonly: options.readonly ?? false,
  });
  db.pragma("busy_timeout = 10000");
  return db;
}

/** Runs `work` on a short-lived second connection. */
export function withDataFile<T>(
  dataDir: string,
  work: (db: BetterSqlite3.Database) => T,
  options: { readonly?: boolean } = {},
): T {
  const db = openDataFile(dataDir, options);
  try {
    return work(db);
  } finally {
    db.close();
  }
}

/**
 * Every row of every table, bytes as hex, in a stable order: compare two
 * snapshots to show a call wrote nothing. `tokens.last_used_at` is left out:
 * authenticating may record use, which is bookkeeping, not a write by the call.
 */
export function snapshotTables(dataDir: string): Record<string, unknown[]> {
  return withDataFile(
    dataDir,
    (db) => {
      const tables = db
        .prepare(
          // The server registry's heartbeats change by themselves, and the audit log records
          // every call, refusals included (test/server/audit-log.test.ts): neither is data.
          "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like 'kysely_%' and name not in ('servers', 'audit_log', 'audit_checkpoints') order by name",
        )
        .pluck()
        .all() as string[];
      const out: Record<string, unknown[]> = {};
      for (const table of tables) {
        const rows = db.prepare(`select * from "${table}"`).all() as Record<string, unknown>[];
        out[table] = rows
          .map((row) => {
            const clean: Record<string, unknown> = {};
            for (const [column, value] of Object.entries(row)) {
              if (table === "tokens" && column === "last_used_at") continue;
              clean[column] = Buffer.isBuffer(value) ? value.toString("hex") : value;
            }
            return JSON.stringify(clean);
          })
          .sort();
      }
      return out;
    },
    { readonly: true },
  );
}

/** The ways a byte string might be written down: raw, hex (both cases), base64, base64url. */
export function encodedForms(bytes: Buffer): { form: string; bytes: Buffer }[] {
  return [
    { form: "raw", bytes },
    { form: "hex", bytes: Buffer.from(bytes.toString("hex"), "latin1") },
    { form: "HEX", bytes: Buffer.from(bytes.toString("hex").toUpperCase(), "latin1") },
    { form: "base64", bytes: Buffer.from(bytes.toString("base64").replace(/=+$/, ""), "latin1") },
    { form: "base64url", bytes: Buffer.from(bytes.toString("base64url"), "latin1") },
  ];
}

/** Which of the data directory's SQLite files contain `needle`, byte for byte. */
export function filesContaining(dataDir: string, needle: Buffer): string[] {
  return DATA_FILES.filter((name) => {
    const path = join(dataDir, name);
    return existsSync(path) && readFileSync(path).includes(needle);
  });
}

/**
 * Where any encoded form of `bytes` occurs in the data files, as
 * "file: form" strings; empty when it occurs nowhere.
 */
export function occurrences(dataDir: string, bytes: Buffer): string[] {
  return encodedForms(bytes).flatMap(({ form, bytes: needle }) =>
    filesContaining(dataDir, needle).map((file) => `${file}: ${form}`),
  );
}
