/**
 * Why a vault operation failed, as a stable machine-readable reason. The gRPC
 * adapter maps each reason to exactly one status code and sends it in a
 * google.rpc.ErrorInfo; clients branch on it, so reasons are never renamed.
 */
export type VaultErrorReason =
  // INVALID_ARGUMENT: the request is malformed; retrying it unchanged cannot succeed.
  | "INVALID_ARGUMENT"
  | "INVALID_STORE_ID"
  | "INVALID_KEY_ID"
  | "INVALID_FINGERPRINT"
  | "INVALID_VALUE"
  | "VALUE_TOO_LARGE"
  | "TOO_MANY_KEYS"
  | "MALFORMED_MESSAGE"
  | "INVALID_TIMEOUT"
  // UNAUTHENTICATED: no usable token.
  | "TOKEN_MISSING"
  | "TOKEN_INVALID"
  | "TOKEN_REVOKED"
  | "TOKEN_EXPIRED"
  | "CLIENT_CERTIFICATE_REQUIRED"
  // PERMISSION_DENIED: a valid token without the needed access.
  | "PERMISSION_DENIED"
  // NOT_FOUND / ALREADY_EXISTS.
  | "STORE_NOT_FOUND"
  | "TOKEN_NOT_FOUND"
  | "STORE_ALREADY_EXISTS"
  // ABORTED: a check-and-set lost.
  | "VERSION_CONFLICT"
  // FAILED_PRECONDITION: the store's state does not allow the call.
  | "UNKNOWN_SECRET"
  | "SECRET_IN_USE"
  // RESOURCE_EXHAUSTED: back off and retry, or ask for less.
  | "OVERLOADED"
  | "RESPONSE_TOO_LARGE"
  | "MESSAGE_TOO_LARGE"
  // UNIMPLEMENTED: the client asked for something this server does not do.
  | "UNSUPPORTED_ENCODING"
  // DEADLINE_EXCEEDED / CANCELLED: the caller stopped waiting before the call finished.
  | "DEADLINE_EXCEEDED"
  | "CANCELLED"
  // RESOURCE_EXHAUSTED too: the database's disk is full; reads go on, writes wait for space.
  | "DISK_FULL"
  // UNAVAILABLE: the server is going away, still starting, or its database is unreachable;
  // retry later. SHUTTING_DOWN and SERVER_STARTING promise that nothing was done.
  | "SHUTTING_DOWN"
  | "SERVER_STARTING"
  | "STORAGE_UNAVAILABLE"
  | "AUDIT_UNAVAILABLE"
  // DATA_LOSS: stored bytes failed their integrity check.
  | "DATA_CORRUPTED"
  // INTERNAL: a bug or an environment failure; details only in the server log.
  | "INTERNAL";

/** Options for {@link VaultError}. */
export interface VaultErrorOptions {
  /** Facts about this occurrence that are safe to show the caller (never secrets). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** The underlying error, kept for the server log and never sent to the caller. */
  readonly cause?: unknown;
}

/**
 * An expected failure of a vault operation. Its message is written for the
 * caller and says what to fix; anything else thrown by the vault is treated as
 * internal and its text never leaves the server.
 *
 * @example
 * throw new VaultError("STORE_NOT_FOUND", `store "${id}" does not exist`);
 */
export class VaultError extends Error {
  readonly reason: VaultErrorReason;
  readonly metadata: Readonly<Record<string, string>>;

  constructor(reason: VaultErrorReason, message: string, options: VaultErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "VaultError";
    this.reason = reason;
    this.metadata = Object.freeze({ ...options.metadata });
  }
}

/**
 * Whether `error` is a {@link VaultError}. Checks the shape rather than the
 * prototype so a second copy of the package does not turn expected errors
 * into internal ones.
 */
export function isVaultError(error: unknown): error is VaultError {
  return (
    error instanceof Error &&
    error.name === "VaultError" &&
    typeof (error as Partial<VaultError>).reason === "string"
  );
}
