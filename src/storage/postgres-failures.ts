import { diskFull, storageCorrupted, storageUnavailable } from "../vault/storage-errors.js";
import { isVaultError } from "../vault/vault-error.js";
import type { Failure } from "./group-commit.js";

/** Socket-level errors that mean the database cannot be reached. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * What a node-postgres error means for the vault, by SQLSTATE (err.code):
 * class 08 and 57P0x (connection lost, server shutting down or starting),
 * 53100 (disk full), XX001/XX002 (damaged data or index), 40001/40P01
 * (serialization failure, deadlock: run the transaction again). Errors the
 * pool raises itself (a connection timeout, a terminated connection) carry
 * no SQLSTATE and mean the database is out of reach.
 *
 * @example
 * const { error, condition, retry } = postgresFailure(err);
 */
export function postgresFailure(error: unknown): Failure {
  if (isVaultError(error)) return { error, condition: undefined, retry: false };
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code === "string") {
    if (code === "40001" || code === "40P01") {
      return { error: storageUnavailable(error), condition: undefined, retry: true };
    }
    if (code === "53100") return { error: diskFull(error), condition: "disk-full", retry: false };
    if (code === "XX001" || code === "XX002") {
      return { error: storageCorrupted(error), condition: "corrupted", retry: false };
    }
    if (
      code.startsWith("08") ||
      code.startsWith("57P") ||
      code === "53300" ||
      NETWORK_CODES.has(code)
    ) {
      return { error: storageUnavailable(error), condition: "unavailable", retry: false };
    }
    return { error, condition: undefined, retry: false };
  }
  if (
    /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended/i.test(
      message,
    )
  ) {
    return { error: storageUnavailable(error), condition: "unavailable", retry: false };
  }
  return { error, condition: undefined, retry: false };
}
