import BetterSqlite3 from "better-sqlite3";

/** Pages per backup step: all of them, so the copy is made in one step. */
const ALL_PAGES = 0x7fffffff;

/**
 * Copies a live SQLite database, page by page, with SQLite's online backup
 * API, from a read-only connection beside the server (WAL lets a reader in
 * while the server writes). The copy is made in a single backup step, which
 * runs inside one read transaction: it is the database as of one moment,
 * and every transaction committed before that moment — every write the
 * server acknowledged before the copy began — is in it. (Copied in several
 * steps, a write between steps would restart the copy, over and over under
 * steady writes.) The step blocks this thread for the copy's length (about
 * a second per few hundred MB); the server is not held up: WAL readers
 * never block writers.
 *
 * @throws Error if the source cannot be opened or read, or the copy fails.
 * @example
 * await copySqliteOnline("/data/hexclave.db", "/backups/.hexclave-2025.db.tmp");
 */
export async function copySqliteOnline(sourceFile: string, destinationFile: string): Promise<void> {
  const source = new BetterSqlite3(sourceFile, { readonly: true, fileMustExist: true });
  try {
    source.pragma("busy_timeout = 5000");
    // The first step (0 pages) only starts the backup; the progress callback sets every later step.
    await source.backup(destinationFile, { progress: () => ALL_PAGES });
  } finally {
    source.close();
  }
}
