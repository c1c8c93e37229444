import type { Kysely } from "kysely";
import { type DataDirLock, lockDataDir } from "./data-dir-lock.js";
import { type DatabaseLocation, describeLocation } from "./database-location.js";
import { inspectStorage } from "./inspect-storage.js";
import { readSnapshot } from "./read-snapshot.js";
import type { Database } from "./schema.js";
import { otherLiveServers, type RegisteredServer, serverIdentity } from "./server-registry.js";

/** A database opened read-only to copy from. */
export interface CopySource {
  readonly location: DatabaseLocation;
  /** The engine's consistency check: ["ok"] when it finds nothing (PostgreSQL: always). */
  integrityCheck(): Promise<string[]>;
  /** The schema's migrations, oldest first. */
  migrations(): Promise<string[]>;
  /** Servers using the database now (none for a single file). */
  liveServers(): Promise<RegisteredServer[]>;
  /** Runs `work` on one consistent snapshot (read-snapshot.ts). */
  snapshot<T>(work: (db: Kysely<Database>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * Opens a database to copy from, read-only. With `lock`, a data directory is
 * also taken the way a server takes it, so no server starts on it while the
 * copy runs; a server already running there makes this fail.
 *
 * @throws Error if the database cannot be opened, or (with `lock`) a server holds the directory.
 * @example
 * const source = await openCopySource({ kind: "sqlite", dataDir: "/data" }, { lock: true });
 */
export async function openCopySource(
  location: DatabaseLocation,
  options: { readonly lock: boolean },
): Promise<CopySource> {
  let lock: DataDirLock | undefined;
  if (options.lock && location.kind === "sqlite") {
    try {
      lock = lockDataDir(location.dataDir);
    } catch (cause) {
      throw new Error(
        `a Hexclave server is running on ${describeLocation(location)}: stop it first, so that no write is made after the copy reads it (or pass --allow-live-source to copy one consistent moment of it anyway)`,
        { cause },
      );
    }
  }
  let inspected: Awaited<ReturnType<typeof inspectStorage>>;
  try {
    inspected = await inspectStorage(
      location.kind === "postgres"
        ? { databaseUrl: location.url }
        : location.kind === "sqlite"
          ? { dataDir: location.dataDir }
          : { sqliteFile: location.file },
    );
  } catch (cause) {
    lock?.release();
    throw new Error(`cannot open ${describeLocation(location)}: ${(cause as Error).message}`, {
      cause,
    });
  }
  const engine = location.kind === "postgres" ? "postgres" : "sqlite";
  return {
    location,
    integrityCheck: () => inspected.integrityCheck(),
    migrations: () => inspected.migrations(),
    async liveServers() {
      if (location.kind === "sqlite-file") return [];
      return otherLiveServers(inspected.db, serverIdentity(), Date.now());
    },
    snapshot: (work) => readSnapshot(inspected.db, engine, work),
    async close() {
      await inspected.close();
      lock?.release();
    },
  };
}
