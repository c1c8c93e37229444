import { type DatabaseDigest, digestDatabase } from "../../../src/storage/database-digest.js";
import { type InspectOptions, inspectStorage } from "../../../src/storage/inspect-storage.js";

/**
 * The digest of a database (src/storage/database-digest.ts), read from
 * outside: what the tests compare between a source, its copies and backups.
 *
 * @example
 * expect(await digestAt({ databaseUrl: url })).toEqual(await digestAt({ dataDir }));
 */
export async function digestAt(where: InspectOptions): Promise<DatabaseDigest> {
  const inspected = await inspectStorage(where);
  try {
    return await digestDatabase(inspected.db);
  } finally {
    await inspected.close();
  }
}

/** How many entry rows a database holds now (0 if its file does not exist yet). */
export async function entryRows(where: InspectOptions): Promise<number> {
  let inspected: Awaited<ReturnType<typeof inspectStorage>>;
  try {
    inspected = await inspectStorage(where);
  } catch {
    return 0;
  }
  try {
    const row = await inspected.db
      .selectFrom("entries")
      .select((eb) => eb.fn.countAll().as("n"))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  } catch {
    return 0; // not migrated yet
  } finally {
    await inspected.close();
  }
}

/** Polls `probe` every 10 ms until it is at least `least`; rejects after `timeoutMs`. */
export async function waitFor(
  probe: () => Promise<number>,
  least: number,
  timeoutMs = 120_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value >= least) return value;
    if (Date.now() > deadline)
      throw new Error(`still ${value} after ${timeoutMs} ms, waiting for ${least}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
