import type pg from "pg";
import type { BackendStorage } from "./backends.js";
import { postgresClient, snapshotPostgresTables } from "./postgres-tables.js";
import { snapshotTables, withDataFile } from "./sqlite-files.js";

/**
 * The rows of a server's database, whichever backend holds them, read and
 * changed from outside the server: one API over sqlite-files.ts and
 * postgres-tables.ts, so a test that inspects or tampers with rows runs on
 * both. SQL is written once with `?` placeholders in the subset both engines
 * speak; integers come back as numbers and bytes as Buffers on both.
 */
export interface DatabaseRows {
  /** The rows a query returns. */
  all<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs a statement; returns how many rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Every table's rows (snapshotTables / snapshotPostgresTables). */
  snapshot(): Promise<Record<string, unknown[]>>;
  /** Closes the connection it keeps (PostgreSQL); SQLite opens one per call. */
  close(): Promise<void>;
}

/**
 * Direct access to the database of a server started on `storage`.
 *
 * @example
 * const rows = databaseRows(await backend.fresh());
 * const [store] = await rows.all("select * from stores where id = ?", ["s"]);
 */
export function databaseRows(
  storage: Pick<BackendStorage, "dataDir" | "databaseUrl">,
): DatabaseRows {
  const url = storage.databaseUrl;
  if (url === undefined) {
    const { dataDir } = storage;
    return {
      all: async <T>(sql: string, params: readonly unknown[] = []) =>
        withDataFile(dataDir, (db) => db.prepare(sql).all(...params) as T[]),
      run: async (sql, params = []) =>
        withDataFile(dataDir, (db) => db.prepare(sql).run(...params).changes),
      snapshot: async () => snapshotTables(dataDir),
      close: async () => {},
    };
  }
  let client: Promise<pg.Client> | undefined;
  const connected = (): Promise<pg.Client> => {
    client ??= postgresClient(url);
    return client;
  };
  const query = async (sql: string, params: readonly unknown[]) => {
    let n = 0;
    const numbered = sql.replace(/\?/g, () => `$${++n}`);
    return (await connected()).query(numbered, [...params]);
  };
  return {
    all: async <T>(sql: string, params: readonly unknown[] = []) =>
      (await query(sql, params)).rows as T[],
    run: async (sql, params = []) => (await query(sql, params)).rowCount ?? 0,
    snapshot: async () => snapshotPostgresTables(await connected()),
    async close() {
      const open = client;
      client = undefined;
      if (open !== undefined) await (await open).end();
    },
  };
}
