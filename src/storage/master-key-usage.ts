import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

/** What one master key is still needed for. */
export interface MasterKeyUsage {
  /** The key's public id (hex). */
  readonly id: string;
  /** Live stores whose data key it wraps: servers need it to open them. */
  readonly stores: number;
  /** Audit records and retention checkpoints its audit key made: `audit verify` needs it for them. */
  readonly auditRecords: number;
  readonly auditCheckpoints: number;
}

/**
 * Every master key id the database still refers to, and for what: a key
 * wrapping no store is retired from serving; one that also made no audit
 * record or checkpoint still kept is needed for nothing.
 *
 * @example
 * const usage = await masterKeyUsage(db);
 */
export async function masterKeyUsage(db: Kysely<Database>): Promise<MasterKeyUsage[]> {
  const usage = new Map<
    string,
    { stores: number; auditRecords: number; auditCheckpoints: number }
  >();
  const entry = (id: Buffer) => {
    const hex = id.toString("hex");
    let found = usage.get(hex);
    if (found === undefined) {
      found = { stores: 0, auditRecords: 0, auditCheckpoints: 0 };
      usage.set(hex, found);
    }
    return found;
  };
  const stores = await db
    .selectFrom("stores")
    .select((eb) => ["master_key_id", eb.fn.countAll().as("n")])
    .where("deleted_at", "is", null)
    .groupBy("master_key_id")
    .execute();
  for (const row of stores) entry(row.master_key_id).stores = Number(row.n);
  const records = await db
    .selectFrom("audit_log")
    .select((eb) => ["key_id", eb.fn.countAll().as("n")])
    .groupBy("key_id")
    .execute();
  for (const row of records) entry(row.key_id).auditRecords = Number(row.n);
  const checkpoints = await db
    .selectFrom("audit_checkpoints")
    .select((eb) => ["key_id", eb.fn.countAll().as("n")])
    .groupBy("key_id")
    .execute();
  for (const row of checkpoints) entry(row.key_id).auditCheckpoints = Number(row.n);
  return [...usage]
    .map(([id, counts]) => ({ id, ...counts }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
}
