import { Metadata, status } from "@grpc/grpc-js";
import { ErrorInfo } from "../../gen/google/rpc/error_details.js";
import { Status } from "../../gen/google/rpc/status.js";
import { isVaultError, type VaultErrorReason } from "../vault/vault-error.js";

/** The domain of every ErrorInfo Hexclave sends. */
export const ERROR_DOMAIN = "hexclave.dev";

/** Trailer carrying every call's request id, success or failure. */
export const REQUEST_ID_KEY = "x-request-id";

/** Each reason's gRPC status code: one place, one code per reason. */
export const STATUS_BY_REASON: Readonly<Record<VaultErrorReason, status>> = Object.freeze({
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  INVALID_STORE_ID: status.INVALID_ARGUMENT,
  INVALID_KEY_ID: status.INVALID_ARGUMENT,
  INVALID_FINGERPRINT: status.INVALID_ARGUMENT,
  INVALID_VALUE: status.INVALID_ARGUMENT,
  VALUE_TOO_LARGE: status.INVALID_ARGUMENT,
  TOO_MANY_KEYS: status.INVALID_ARGUMENT,
  MALFORMED_MESSAGE: status.INVALID_ARGUMENT,
  INVALID_TIMEOUT: status.INVALID_ARGUMENT,
  TOKEN_MISSING: status.UNAUTHENTICATED,
  TOKEN_INVALID: status.UNAUTHENTICATED,
  TOKEN_REVOKED: status.UNAUTHENTICATED,
  TOKEN_EXPIRED: status.UNAUTHENTICATED,
  CLIENT_CERTIFICATE_REQUIRED: status.UNAUTHENTICATED,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  STORE_NOT_FOUND: status.NOT_FOUND,
  TOKEN_NOT_FOUND: status.NOT_FOUND,
  STORE_ALREADY_EXISTS: status.ALREADY_EXISTS,
  VERSION_CONFLICT: status.ABORTED,
  UNKNOWN_SECRET: status.FAILED_PRECONDITION,
  SECRET_IN_USE: status.FAILED_PRECONDITION,
  OVERLOADED: status.RESOURCE_EXHAUSTED,
  RESPONSE_TOO_LARGE: status.RESOURCE_EXHAUSTED,
  MESSAGE_TOO_LARGE: status.RESOURCE_EXHAUSTED,
  UNSUPPORTED_ENCODING: status.UNIMPLEMENTED,
  DEADLINE_EXCEEDED: status.DEADLINE_EXCEEDED,
  CANCELLED: status.CANCELLED,
  DISK_FULL: status.RESOURCE_EXHAUSTED,
  SHUTTING_DOWN: status.UNAVAILABLE,
  SERVER_STARTING: status.UNAVAILABLE,
  STORAGE_UNAVAILABLE: status.UNAVAILABLE,
  AUDIT_UNAVAILABLE: status.UNAVAILABLE,
  DATA_CORRUPTED: status.DATA_LOSS,
  INTERNAL: status.INTERNAL,
});

/** How a call ended, for logs, metrics and audit. */
export interface CallOutcome {
  readonly code: status;
  /** The ErrorInfo reason sent; "OK" for a success. */
  readonly reason: VaultErrorReason | "OK";
  /** Whether the server is at fault (log it as an error, with the cause). */
  readonly serverFault: boolean;
}

/** The outcome of a call that succeeded. */
export const OK_OUTCOME: CallOutcome = Object.freeze({
  code: status.OK,
  reason: "OK",
  serverFault: false,
});

/**
 * How a failure is reported: a VaultError by its reason; DATA_CORRUPTED and
 * anything else that is not a VaultError as the server's fault.
 *
 * @example
 * const { code, reason } = outcomeOf(error);
 */
export function outcomeOf(error: unknown): CallOutcome {
  const reason: VaultErrorReason = isVaultError(error) ? error.reason : "INTERNAL";
  return {
    code: STATUS_BY_REASON[reason],
    reason,
    serverFault: reason === "INTERNAL" || reason === "DATA_CORRUPTED",
  };
}

/** A status to end a call with, as grpc-js takes it. */
export interface CallStatus extends CallOutcome {
  readonly details: string;
  readonly metadata: Metadata;
}

/**
 * Turns anything a handler threw into the status sent to the caller. A
 * VaultError keeps its message, which was written for the caller. Anything
 * else becomes INTERNAL with a generic message and the request id, so
 * internal text (SQL, paths, stack traces) never leaves the server. The
 * request id also travels in the `x-request-id` trailer; the ErrorInfo holds
 * only facts about the request, so two identical refusals are identical bytes.
 *
 * @example
 * callback(toCallStatus(error, requestId));
 */
export function toCallStatus(error: unknown, requestId: string): CallStatus {
  const outcome = outcomeOf(error);
  if (!outcome.serverFault && isVaultError(error)) {
    return build(outcome, error.message, error.metadata, requestId);
  }
  const message =
    outcome.reason === "DATA_CORRUPTED"
      ? `stored data failed its integrity check (request id ${requestId}); the server log has details`
      : `internal error (request id ${requestId}); the server log has details`;
  return build(outcome, message, { request_id: requestId }, requestId);
}

/**
 * The trailers of a call that succeeded: its request id.
 *
 * @example
 * callback(null, response, successTrailers(requestId));
 */
export function successTrailers(requestId: string): Metadata {
  const metadata = new Metadata();
  metadata.set(REQUEST_ID_KEY, requestId);
  return metadata;
}

function build(
  outcome: CallOutcome,
  message: string,
  extra: Readonly<Record<string, string>>,
  requestId: string,
): CallStatus {
  const info = ErrorInfo.encode({
    reason: outcome.reason,
    domain: ERROR_DOMAIN,
    metadata: { ...extra },
  }).finish();
  const details = Status.encode({
    code: outcome.code,
    message,
    details: [{ typeUrl: "type.googleapis.com/google.rpc.ErrorInfo", value: Buffer.from(info) }],
  }).finish();
  const metadata = successTrailers(requestId);
  metadata.set("grpc-status-details-bin", Buffer.from(details));
  return { ...outcome, details: message, metadata };
}
