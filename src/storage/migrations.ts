import { type Kysely, type Migration, type MigrationProvider, sql } from "kysely";
import type { Dialect } from "./dialect.js";

/**
 * The schema's history, oldest first. Migrations run in order on every start
 * and are never edited once released: a change is a new migration.
 */
export function migrationProvider(dialect: Dialect): MigrationProvider {
  const bytes = dialect === "postgres" ? "bytea" : "blob";
  const bigint = dialect === "postgres" ? "bigint" : "integer";

  const initial: Migration = {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("stores")
        .addColumn("uid", bytes, (c) => c.primaryKey())
        .addColumn("id", "text", (c) => c.notNull())
        .addColumn("description", "text", (c) => c.notNull())
        .addColumn("salt", bytes, (c) => c.notNull())
        .addColumn("wrapped_key", bytes, (c) => c.notNull())
        .addColumn("master_key_id", bytes, (c) => c.notNull())
        .addColumn("max_value_bytes", "integer", (c) => c.notNull())
        .addColumn("entry_count", bigint, (c) => c.notNull().defaultTo(0))
        .addColumn("total_value_bytes", bigint, (c) => c.notNull().defaultTo(0))
        .addColumn("created_at", bigint, (c) => c.notNull())
        .addColumn("deleted_at", bigint)
        .execute();
      // A deleted store's rows may linger while they are purged; its id is free at once.
      await db.schema
        .createIndex("stores_live_id")
        .on("stores")
        .column("id")
        .unique()
        .where(sql.ref("deleted_at"), "is", null)
        .execute();

      await db.schema
        .createTable("store_secrets")
        .addColumn("store_uid", bytes, (c) => c.notNull())
        .addColumn("fingerprint", bytes, (c) => c.notNull())
        .addColumn("entry_count", bigint, (c) => c.notNull().defaultTo(0))
        .addColumn("registered_at", bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint("store_secrets_pk", ["store_uid", "fingerprint"])
        .execute();

      let entries = db.schema
        .createTable("entries")
        .addColumn("store_uid", bytes, (c) => c.notNull())
        .addColumn("key_id", bytes, (c) => c.notNull())
        .addColumn("fingerprint", bytes, (c) => c.notNull())
        .addColumn("blob", bytes, (c) => c.notNull())
        .addColumn("version", bigint, (c) => c.notNull())
        .addColumn("updated_at", bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint("entries_pk", ["store_uid", "key_id"]);
      // Entries are only ever reached by primary key: cluster them on it.
      if (dialect === "sqlite") entries = entries.modifyEnd(sql`without rowid`);
      await entries.execute();

      await db.schema
        .createTable("tokens")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("secret_hash", bytes, (c) => c.notNull())
        .addColumn("admin", "integer", (c) => c.notNull())
        .addColumn("grants", "text", (c) => c.notNull())
        .addColumn("created_at", bigint, (c) => c.notNull())
        .addColumn("last_used_at", bigint)
        .addColumn("revoked_at", bigint)
        .execute();
    },
  };

  // Entry versions become store-wide: every write takes the store's next number,
  // so versions of different copies of an entry (under different secrets) never
  // collide and "higher" always means "written later".
  const storeVersions: Migration = {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable("stores")
        .addColumn("last_version", bigint, (c) => c.notNull().defaultTo(0))
        .execute();
      await sql`update stores set last_version = coalesce((select max(version) from entries where entries.store_uid = stores.uid), 0)`.execute(
        db,
      );
    },
  };

  const migrations: Record<string, Migration> = {
    "0001_initial": initial,
    "0002_store_versions": storeVersions,
  };
  return { getMigrations: async () => migrations };
}
