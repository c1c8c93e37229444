import pg from "pg";

/**
 * Databases on a PostgreSQL server the tests administer: the suite's own
 * throwaway cluster, or an external one (HEXCLAVE_TEST_DATABASE_URL).
 */

/** What a database name may be: short, lower case, safe to write unquoted in SQL. */
const DATABASE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The URL of database `name` on the server `url` points at (same role, password, host). */
export function databaseUrl(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * Creates an empty database and returns its URL. It is made from template0,
 * so nothing an administrator added to template1 leaks in.
 *
 * @throws Error if `name` is not a plain lower-case identifier, or the server refuses.
 * @example
 * const url = await createDatabase(adminUrl, "hexclave_test_1");
 */
export async function createDatabase(adminUrl: string, name: string): Promise<string> {
  if (!DATABASE_NAME.test(name)) {
    throw new Error(`database name must match ${DATABASE_NAME}, got "${name}"`);
  }
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${name} TEMPLATE template0`));
  return databaseUrl(adminUrl, name);
}

/**
 * Drops every database whose name starts with `prefix`, closing the
 * connections still open to them (a crashed test leaves some).
 */
export async function dropDatabases(adminUrl: string, prefix: string): Promise<string[]> {
  if (!DATABASE_NAME.test(prefix)) throw new Error(`bad database prefix "${prefix}"`);
  return withClient(adminUrl, async (c) => {
    const { rows } = await c.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE starts_with(datname, $1)",
      [prefix],
    );
    for (const { datname } of rows) await c.query(`DROP DATABASE ${datname} WITH (FORCE)`);
    return rows.map((r) => r.datname);
  });
}

/** Runs `work` on one connection to `url`, then closes it. */
export async function withClient<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Errors of a server that is not up yet (as opposed to one that refuses us). */
const NOT_UP_YET = new Set(["ECONNREFUSED", "ECONNRESET", "ENOENT", "57P03"]);

/**
 * Resolves once the server at `url` accepts a connection and answers a
 * query, retrying with backoff while it is not up yet (connection refused,
 * "the database system is starting up"). This is the readiness event;
 * nothing sleeps a fixed time.
 *
 * @throws Error at once if the server refuses us (password, database), or
 *   with the last connection error after `timeoutMs`.
 */
export async function waitUntilAccepting(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 10;
  for (;;) {
    try {
      await withClient(url, (c) => c.query("SELECT 1"));
      return;
    } catch (cause) {
      const code = (cause as { code?: string }).code ?? "";
      if (!NOT_UP_YET.has(code) || Date.now() + delay > deadline) {
        const why = cause instanceof Error ? cause.message : String(cause);
        throw new Error(`could not connect to PostgreSQL at ${redacted(url)}: ${why}`, { cause });
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 250);
    }
  }
}

/** `url` without its password, for messages. */
export function redacted(url: string): string {
  const u = new URL(url);
  if (u.password !== "") u.password = "***";
  return u.toString();
}
