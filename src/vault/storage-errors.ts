import { VaultError } from "./vault-error.js";

/**
 * The errors a storage adapter reports in the vault's terms. Adapters map
 * their driver's failures to these (src/storage/*-failures.ts), so a caller
 * learns what to do — retry later, free space, restore — and never sees the
 * driver's text.
 */

/** A write arriving after shutdown began. */
export function shuttingDown(): VaultError {
  return new VaultError(
    "SHUTTING_DOWN",
    "the server is shutting down: retry against another instance",
  );
}

/** A write beyond the queue's bound (`queued` writes already waiting). */
export function overloaded(queued: number): VaultError {
  return new VaultError(
    "OVERLOADED",
    "the server has too many writes waiting: retry with backoff",
    {
      metadata: { queued: String(queued) },
    },
  );
}

/** The database cannot be reached (or refuses connections) right now. */
export function storageUnavailable(cause: unknown): VaultError {
  return new VaultError(
    "STORAGE_UNAVAILABLE",
    "the server cannot reach its database right now: retry with backoff",
    { cause },
  );
}

/** The database's disk is full: nothing can be written until space is freed. */
export function diskFull(cause: unknown): VaultError {
  return new VaultError(
    "DISK_FULL",
    "the server's database is out of disk space: nothing was written; reads still work; retry once an operator has freed space",
    { cause },
  );
}

/** The database's files are damaged. */
export function storageCorrupted(cause: unknown): VaultError {
  return new VaultError(
    "DATA_CORRUPTED",
    'the server\'s database is damaged: it stopped writing; an operator must run "hexclave verify" and restore from a backup',
    { cause },
  );
}
