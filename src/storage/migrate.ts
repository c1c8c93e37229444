import { type Kysely, Migrator } from "kysely";
import { type ColumnTypes, migrationProvider } from "./migrations.js";
import type { Database } from "./schema.js";

/**
 * Brings a database's schema up to date. Concurrent servers migrate once:
 * kysely's migrator holds a lock while it runs (an advisory lock on
 * PostgreSQL; SQLite's write lock). A database migrated by a newer Hexclave
 * — one with migrations this version does not know — is refused: running
 * old code on a newer schema could lose what the newer code relies on.
 *
 * @throws Error naming the failed or unknown migration.
 * @example
 * await migrate(db, SQLITE_COLUMN_TYPES);
 */
export async function migrate(db: Kysely<Database>, types: ColumnTypes): Promise<void> {
  const provider = migrationProvider(types);
  const migrator = new Migrator({ db, provider });
  const known = new Set(Object.keys(await provider.getMigrations()));
  // kysely's own table of applied migrations; absent on a new database.
  const applied = await db
    .selectFrom("kysely_migration" as never)
    .select("name" as never)
    .execute()
    .then((rows) => (rows as { name: string }[]).map((r) => r.name))
    .catch(() => [] as string[]);
  const unknown = applied.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new Error(
      `the database schema is newer than this server (it has migration ${unknown[0]}, which this version does not know): run the Hexclave version that migrated it, or a newer one`,
    );
  }
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    throw new Error(`database migration ${failed} failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
