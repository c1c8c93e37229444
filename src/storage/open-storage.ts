import type { Storage } from "../vault/storage-port.js";
import type { GroupCommitOptions } from "./group-commit.js";
import { openPostgresStorage } from "./postgres-storage.js";
import type { ServerIdentity } from "./server-registry.js";
import { openSqliteStorage } from "./sqlite-storage.js";

/** Where the data lives, and how this process shares it. */
export interface OpenStorageOptions {
  /** Directory of the embedded SQLite database (`hexclave.db`). */
  readonly dataDir: string;
  /** `postgres://…` to use PostgreSQL instead of the embedded SQLite. */
  readonly databaseUrl?: string | undefined;
  /** Every master key stores may be wrapped under, the current one first. */
  readonly masterKeys: readonly Buffer[];
  /** This process, as the database's server registry and audit chains know it. */
  readonly server: ServerIdentity;
  /** SQLite only: other processes of this server's group use the same file (`--workers`). */
  readonly shared?: boolean;
  /** PostgreSQL only: connections at most. */
  readonly poolSize?: number | undefined;
  readonly writes?: GroupCommitOptions;
  /** Stops waiting for an unreachable database at start. */
  readonly signal?: AbortSignal;
  /** Told about each failed attempt to reach the database at start. */
  readonly onRetry?: (attempt: number, delayMs: number, error: unknown) => void;
  /** Told if a writer thread dies (SQLite). */
  readonly onWriterFailure?: (error: Error) => void;
}

/**
 * Opens the configured database (migrating it) with the adapter for its
 * kind: embedded SQLite in the data directory, or PostgreSQL.
 *
 * @throws Error if the database cannot be opened, is damaged, is in use by
 *   another server (SQLite), or has a schema newer than this server.
 * @example
 * const storage = await openStorage({ dataDir: "./.hexclave", masterKeys: [masterKey], server: serverIdentity() });
 */
export function openStorage(options: OpenStorageOptions): Promise<Storage> {
  const { masterKeys, server, writes } = options;
  const common = { masterKeys, server, ...(writes === undefined ? {} : { writes }) };
  if (options.databaseUrl !== undefined) {
    return openPostgresStorage({
      ...common,
      url: options.databaseUrl,
      ...(options.poolSize === undefined ? {} : { poolSize: options.poolSize }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.onRetry === undefined ? {} : { onRetry: options.onRetry }),
    });
  }
  return openSqliteStorage({
    ...common,
    dataDir: options.dataDir,
    ...(options.shared === undefined ? {} : { shared: options.shared }),
    ...(options.onWriterFailure === undefined ? {} : { onWriterFailure: options.onWriterFailure }),
  });
}
