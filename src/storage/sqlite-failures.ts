import { diskFull, storageCorrupted, storageUnavailable } from "../vault/storage-errors.js";
import { isVaultError } from "../vault/vault-error.js";
import type { Failure } from "./group-commit.js";

/**
 * What a better-sqlite3 error means for the vault. SQLite's result codes
 * (err.code, e.g. "SQLITE_FULL", "SQLITE_CORRUPT_INDEX") name the condition:
 * a full disk, a damaged file, a file the process can no longer write.
 *
 * @example
 * const { error, condition } = sqliteFailure(err);
 */
export function sqliteFailure(error: unknown): Failure {
  if (isVaultError(error)) return { error, condition: undefined, retry: false };
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string") return { error, condition: undefined, retry: false };
  if (code === "SQLITE_FULL" || code === "ENOSPC") {
    return { error: diskFull(error), condition: "disk-full", retry: false };
  }
  if (code.startsWith("SQLITE_CORRUPT") || code === "SQLITE_NOTADB") {
    return { error: storageCorrupted(error), condition: "corrupted", retry: false };
  }
  if (code.startsWith("SQLITE_BUSY")) {
    // Another process held the write lock past busy_timeout: the same transaction may succeed now.
    return { error: storageUnavailable(error), condition: undefined, retry: true };
  }
  if (
    code.startsWith("SQLITE_IOERR") ||
    code.startsWith("SQLITE_READONLY") ||
    code === "SQLITE_CANTOPEN"
  ) {
    return { error: storageUnavailable(error), condition: "unavailable", retry: false };
  }
  return { error, condition: undefined, retry: false };
}
