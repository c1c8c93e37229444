import pg from "pg";

/**
 * Direct access to a server's PostgreSQL database from outside the server,
 * the counterpart of sqlite-files.ts: what an attacker with the database (or
 * a dump) sees, and a second connection for tests that tamper with rows.
 * 64-bit integers come back as numbers, as better-sqlite3 returns them, so a
 * row reads the same on both backends.
 */

const INT8 = 20;

/** A pg client whose bigint columns are numbers. Connected; end() it when done. */
export async function postgresClient(url: string): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: url,
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid === INT8 && format !== "binary"
          ? (value: string) => Number(value)
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  await client.connect();
  return client;
}

/**
 * Every row of every table, bytes as hex, in a stable order, exactly as
 * snapshotTables (sqlite-files.ts) dumps SQLite: compare two snapshots to show
 * a call wrote nothing. The server registry (heartbeats), the audit log (it
 * records every call, refusals included) and `tokens.last_used_at`
 * (bookkeeping) are left out, as there.
 */
export async function snapshotPostgresTables(
  client: pg.Client,
): Promise<Record<string, unknown[]>> {
  const { rows: tables } = await client.query<{ name: string }>(
    "select tablename as name from pg_tables where schemaname = 'public' and tablename not like 'kysely\\_%' and tablename not in ('servers', 'audit_log', 'audit_checkpoints') order by tablename",
  );
  const out: Record<string, unknown[]> = {};
  for (const { name } of tables) {
    const { rows } = await client.query<Record<string, unknown>>(`select * from "${name}"`);
    out[name] = rows
      .map((row) => {
        const clean: Record<string, unknown> = {};
        for (const [column, value] of Object.entries(row)) {
          if (name === "tokens" && column === "last_used_at") continue;
          clean[column] = Buffer.isBuffer(value) ? value.toString("hex") : value;
        }
        return JSON.stringify(clean);
      })
      .sort();
  }
  return out;
}
