import {
  type CreateTableBuilder,
  type Kysely,
  type Migration,
  type MigrationProvider,
  sql,
} from "kysely";

/** The column types and table options a dialect's adapter gives the migrations. */
export interface ColumnTypes {
  /** Raw bytes: "blob" (SQLite) or "bytea" (PostgreSQL). */
  readonly bytes: "blob" | "bytea";
  /** 64-bit integers: "integer" (SQLite) or "bigint" (PostgreSQL). */
  readonly bigint: "integer" | "bigint";
  /** Makes a table clustered on its primary key where the engine allows (SQLite: WITHOUT ROWID). */
  readonly clusterOnKey: <T extends string, C extends string>(
    table: CreateTableBuilder<T, C>,
  ) => CreateTableBuilder<T, C>;
}

/**
 * The schema's history, oldest first. Migrations run in order on every start
 * and are never edited once released: a change is a new migration.
 */
export function migrationProvider(types: ColumnTypes): MigrationProvider {
  const { bytes, bigint } = types;

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

      const entries = db.schema
        .createTable("entries")
        .addColumn("store_uid", bytes, (c) => c.notNull())
        .addColumn("key_id", bytes, (c) => c.notNull())
        .addColumn("fingerprint", bytes, (c) => c.notNull())
        .addColumn("blob", bytes, (c) => c.notNull())
        .addColumn("version", bigint, (c) => c.notNull())
        .addColumn("updated_at", bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint("entries_pk", ["store_uid", "key_id"]);
      // Entries are only ever reached by primary key: cluster them on it.
      await types.clusterOnKey(entries).execute();

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

  // Expiring entries and tokens; the servers using the database (so a second
  // server on one SQLite file is detected even if its lock file was removed);
  // the audit log, a hash chain per writing server.
  const expiryServersAudit: Migration = {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable("entries").addColumn("expires_at", bigint).execute();
      await db.schema
        .createIndex("entries_expiry")
        .on("entries")
        .column("expires_at")
        .where(sql.ref("expires_at"), "is not", null)
        .execute();
      await db.schema.alterTable("tokens").addColumn("expires_at", bigint).execute();
      await db.schema
        .createTable("servers")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("group_id", "text", (c) => c.notNull())
        .addColumn("host", "text", (c) => c.notNull())
        .addColumn("pid", "integer", (c) => c.notNull())
        .addColumn("started_at", bigint, (c) => c.notNull())
        .addColumn("heartbeat_at", bigint, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("audit_log")
        .addColumn("chain_id", "text", (c) => c.notNull())
        .addColumn("seq", bigint, (c) => c.notNull())
        .addColumn("at", bigint, (c) => c.notNull())
        .addColumn("request_id", "text", (c) => c.notNull())
        .addColumn("token_id", "text")
        .addColumn("method", "text", (c) => c.notNull())
        .addColumn("store_id", "text")
        .addColumn("key_id_prefix", "text")
        .addColumn("code", "integer", (c) => c.notNull())
        .addColumn("reason", "text", (c) => c.notNull())
        .addColumn("peer", "text", (c) => c.notNull())
        .addColumn("client_identity", "text")
        .addColumn("key_id", bytes, (c) => c.notNull())
        .addColumn("prev_hash", bytes, (c) => c.notNull())
        .addColumn("hash", bytes, (c) => c.notNull())
        .addPrimaryKeyConstraint("audit_log_pk", ["chain_id", "seq"])
        .execute();
      await db.schema.createIndex("audit_log_at").on("audit_log").column("at").execute();
      // Where a chain continues after its oldest records were pruned (--audit-retention).
      await db.schema
        .createTable("audit_checkpoints")
        .addColumn("chain_id", "text", (c) => c.primaryKey())
        .addColumn("seq", bigint, (c) => c.notNull())
        .addColumn("hash", bytes, (c) => c.notNull())
        .addColumn("key_id", bytes, (c) => c.notNull())
        .addColumn("pruned_at", bigint, (c) => c.notNull())
        .addColumn("mac", bytes, (c) => c.notNull())
        .execute();
    },
  };

  // Dashboard sessions: shared by every server on the database, so a sign-in on
  // one process works on the others and a sign-out ends it on all of them.
  const dashboardSessions: Migration = {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("dashboard_sessions")
        .addColumn("id_hash", bytes, (c) => c.primaryKey())
        .addColumn("sealed_token", bytes, (c) => c.notNull())
        .addColumn("created_at", bigint, (c) => c.notNull())
        .addColumn("expires_at", bigint, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("dashboard_sessions_expiry")
        .on("dashboard_sessions")
        .column("expires_at")
        .execute();
    },
  };

  const migrations: Record<string, Migration> = {
    "0001_initial": initial,
    "0002_store_versions": storeVersions,
    "0003_expiry_servers_audit": expiryServersAudit,
    "0004_dashboard_sessions": dashboardSessions,
  };
  return { getMigrations: async () => migrations };
}
