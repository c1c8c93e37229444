import { DECRYPTION_FAILED_MESSAGE } from "../crypto/crypto-error.js";

/**
 * Every error the client raises has one of these stable codes. Branch on
 * `err.code`, not on `instanceof`: two copies of the package in one program
 * have two sets of classes but the same codes.
 *
 * @example
 * const retryable: HexclaveErrorCode[] = ["UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED"];
 * if (retryable.includes(err.code)) await backOffAndRetry();
 */
export type HexclaveErrorCode =
  | "STORE_NOT_FOUND"
  | "STORE_SALT_CHANGED"
  | "UNKNOWN_SECRET"
  | "DECRYPTION_FAILED"
  | "PERMISSION_DENIED"
  | "UNAUTHENTICATED"
  | "VALUE_TOO_LARGE"
  | "VERSION_CONFLICT"
  | "UNAVAILABLE"
  | "WEAK_SECRET"
  | "INVALID_ARGUMENT"
  | "ALREADY_EXISTS"
  | "NOT_FOUND"
  | "SECRET_IN_USE"
  | "RESOURCE_EXHAUSTED"
  | "DEADLINE_EXCEEDED"
  | "CANCELLED"
  | "CLIENT_CLOSED"
  | "INTERNAL";

/**
 * Options for {@link HexclaveError}.
 *
 * @example
 * new HexclaveError("INTERNAL", "unexpected reply", { cause: error });
 */
export interface HexclaveErrorOptions {
  /** The server's machine-readable reason (google.rpc.ErrorInfo), when the server sent one. */
  readonly reason?: string | undefined;
  /** Facts the server attached (e.g. `current_version`). */
  readonly metadata?: Readonly<Record<string, string>> | undefined;
  readonly cause?: unknown;
}

/**
 * The base of every Hexclave client error.
 *
 * @example
 * try {
 *   await store.getValue("gh:42", { secret });
 * } catch (err) {
 *   if (err instanceof HexclaveError && err.code === "UNKNOWN_SECRET") console.error(err.message);
 *   else throw err;
 * }
 */
export class HexclaveError extends Error {
  readonly code: HexclaveErrorCode;
  readonly reason: string | undefined;
  readonly metadata: Readonly<Record<string, string>>;

  constructor(code: HexclaveErrorCode, message: string, options: HexclaveErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "HexclaveError";
    this.code = code;
    this.reason = options.reason;
    this.metadata = Object.freeze({ ...options.metadata });
  }
}

/**
 * The store does not exist (or was deleted): an admin creates it with
 * `hexclave stores create <id>`.
 *
 * @example
 * const store = await hexclave.getDataVaultStore("oauth-tokens").catch((err) => {
 *   if (err.code === "STORE_NOT_FOUND") throw new Error("run: hexclave stores create oauth-tokens");
 *   throw err;
 * });
 */
export class StoreNotFoundError extends HexclaveError {
  constructor(message: string, options: HexclaveErrorOptions = {}) {
    super("STORE_NOT_FOUND", message, options);
    this.name = "StoreNotFoundError";
  }
}

/**
 * The server described a store with another salt than the one this client
 * pinned for it: the salt it saw first, or the one `storeSalts` configures.
 * Nothing is read or written with the new salt. Either the store was deleted
 * and re-created under the same id (then make a new client, or update
 * `storeSalts`), or the server is not the one you trust. `metadata` has
 * `store_id`, `expected_salt` and `presented_salt` (base64) and `pinned_by`
 * ("first use" or "configuration").
 *
 * @example
 * catch (err) {
 *   if (err.code === "STORE_SALT_CHANGED") alertSecurityTeam(err.message, err.metadata);
 * }
 */
export class StoreSaltChangedError extends HexclaveError {
  constructor(message: string, options: HexclaveErrorOptions = {}) {
    super("STORE_SALT_CHANGED", message, options);
    this.name = "StoreSaltChangedError";
  }
}

/**
 * The store has never seen this secret: usually HEXCLAVE_SECRET is not the
 * secret the data was written with. Carries both sides' fingerprints.
 *
 * @example
 * catch (err) {
 *   if (err.code === "UNKNOWN_SECRET") log.error({ presented: err.presentedFingerprints, registered: err.registeredFingerprints });
 * }
 */
export class UnknownSecretError extends HexclaveError {
  /** Fingerprints (hex) of the secrets this call presented. */
  readonly presentedFingerprints: readonly string[];
  /** Fingerprints (hex) of the secrets the store knows. */
  readonly registeredFingerprints: readonly string[];

  constructor(message: string, options: HexclaveErrorOptions = {}) {
    super("UNKNOWN_SECRET", message, options);
    this.name = "UnknownSecretError";
    this.presentedFingerprints = splitList(options.metadata?.presented);
    this.registeredFingerprints = splitList(options.metadata?.registered);
  }
}

/**
 * The one message for every failure to open a value, whatever step failed
 * (defined once, beside the sealing code that throws it).
 *
 * @example
 * if (err.message === DECRYPTION_FAILED_MESSAGE) alertSecurityTeam();
 */
export { DECRYPTION_FAILED_MESSAGE };

/**
 * A value could not be opened: it was altered, moved from another key or
 * store, or sealed under another secret. Always the same message: no clue
 * which step failed. Treat it as tampering or corruption, never as "absent".
 *
 * @example
 * catch (err) {
 *   if (err.code === "DECRYPTION_FAILED") alertSecurityTeam(key);
 * }
 */
export class DecryptionError extends HexclaveError {
  constructor(options: HexclaveErrorOptions = {}) {
    super("DECRYPTION_FAILED", DECRYPTION_FAILED_MESSAGE, options);
    this.name = "DecryptionError";
  }
}

/**
 * The token is valid but has no access to this store or call: create one with
 * `hexclave tokens create --name NAME --store ID`.
 *
 * @example
 * if (err.code === "PERMISSION_DENIED") console.error("HEXCLAVE_TOKEN cannot use this store");
 */
export class PermissionDeniedError extends HexclaveError {
  constructor(message: string, options: HexclaveErrorOptions = {}) {
    super("PERMISSION_DENIED", message, options);
    this.name = "PermissionDeniedError";
  }
}

/**
 * No token, or a token the server does not accept (unknown, malformed, revoked).
 *
 * @example
 * if (err.code === "UNAUTHENTICATED") console.error("check HEXCLAVE_TOKEN");
 */
export class UnauthenticatedError extends HexclaveError {
  constructor(message: string, options: HexclaveErrorOptions = {}) {
    super("UNAUTHENTICATED", message, options);
    this.name = "UnauthenticatedError";
  }
}

/**
 * The sealed value is larger than the store accepts (`store.maxValueBytes`).
 *
 * @example
 * if (err.code === "VALUE_TOO_LARGE") console.error(`limit ${err.metadata.limit}, sealed ${err.metadata.actual}`);
 */
export class ValueTooLargeError extends HexclaveError {
  constructor(message: string, options: HexclaveErrorOptions = {}) {
    super("VALUE_TOO_LARGE", message, options);
    this.name = "ValueTooLargeError";
  }
}

/**
 * A check-and-set lost: the entry is not at the expected version. Read it
 * again (`getEntry`) and retry with the new version.
 *
 * @example
 * catch (err) {
 *   if (err.code === "VERSION_CONFLICT") return retry(await store.getEntry(key, { secret }));
 * }
 */
export class VersionConflictError extends HexclaveError {
  /** The entry's version when the write was refused (0: it does not exist). */
  readonly currentVersion: number | undefined;

  constructor(message: string, options: HexclaveErrorOptions = {}) {
    super("VERSION_CONFLICT", message, options);
    this.name = "VersionConflictError";
    const current = options.metadata?.current_version;
    this.currentVersion = current === undefined ? undefined : Number(current);
  }
}

/**
 * The server could not be reached, or went away, and the client's retries
 * (docs/client.md, "Restarts and retries") did not get an answer within the
 * call's deadline; retrying later may work.
 *
 * @example
 * catch (err) {
 *   if (err.code === "UNAVAILABLE" && err.mayHaveBeenApplied) await reconcile(key); // read it back first
 * }
 */
export class UnavailableError extends HexclaveError {
  /**
   * True for a write that reached the server, or may have, before it or the
   * connection went away: it may have been applied. Read the entry back
   * before writing again. False for reads, and for writes the server said it
   * did not apply.
   */
  readonly mayHaveBeenApplied: boolean;

  constructor(
    message: string,
    options: HexclaveErrorOptions & { readonly mayHaveBeenApplied?: boolean } = {},
  ) {
    super("UNAVAILABLE", message, options);
    this.name = "UnavailableError";
    this.mayHaveBeenApplied = options.mayHaveBeenApplied ?? false;
  }
}

/**
 * The secret is too weak to protect anything (shorter than 16 characters,
 * fewer than 8 different ones, or one pattern repeated; docs/sealing.md §3.1):
 * make one with `hexclave secret generate`.
 *
 * @example
 * if (err.code === "WEAK_SECRET") console.error(err.message); // says how to make a strong one
 */
export class WeakSecretError extends HexclaveError {
  constructor(message: string, options: HexclaveErrorOptions = {}) {
    super("WEAK_SECRET", message, options);
    this.name = "WeakSecretError";
  }
}

function splitList(value: string | undefined): string[] {
  return value === undefined || value === "" ? [] : value.split(",");
}
