import { Metadata, status } from "@grpc/grpc-js";
import { ErrorInfo } from "../../gen/google/rpc/error_details.js";
import { Status } from "../../gen/google/rpc/status.js";
import { isVaultError, type VaultErrorReason } from "../vault/vault-error.js";

/** The domain of every ErrorInfo Hexclave sends. */
export const ERROR_DOMAIN = "hexclave.dev";

/** Each reason's gRPC status code: one place, one code per reason. */
export const STATUS_BY_REASON: Readonly<Record<VaultErrorReason, status>> = Object.freeze({
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  INVALID_STORE_ID: status.INVALID_ARGUMENT,
  INVALID_KEY_ID: status.INVALID_ARGUMENT,
  INVALID_FINGERPRINT: status.INVALID_ARGUMENT,
  INVALID_VALUE: status.INVALID_ARGUMENT,
  VALUE_TOO_LARGE: status.INVALID_ARGUMENT,
  TOO_MANY_KEYS: status.INVALID_ARGUMENT,
  TOKEN_MISSING: status.UNAUTHENTICATED,
  TOKEN_INVALID: status.UNAUTHENTICATED,
  TOKEN_REVOKED: status.UNAUTHENTICATED,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  STORE_NOT_FOUND: status.NOT_FOUND,
  TOKEN_NOT_FOUND: status.NOT_FOUND,
  STORE_ALREADY_EXISTS: status.ALREADY_EXISTS,
  VERSION_CONFLICT: status.ABORTED,
  UNKNOWN_SECRET: status.FAILED_PRECONDITION,
  SECRET_IN_USE: status.FAILED_PRECONDITION,
  OVERLOADED: status.RESOURCE_EXHAUSTED,
  RESPONSE_TOO_LARGE: status.RESOURCE_EXHAUSTED,
  SHUTTING_DOWN: status.UNAVAILABLE,
  DATA_CORRUPTED: status.DATA_LOSS,
  INTERNAL: status.INTERNAL,
});

/** A status to end a call with, as grpc-js takes it. */
export interface CallStatus {
  readonly code: status;
  readonly details: string;
  readonly metadata: Metadata;
  /** The reason sent, for the call log. */
  readonly reason: VaultErrorReason;
  /** Whether the server is at fault (log it as an error, with the cause). */
  readonly serverFault: boolean;
}

/**
 * Turns anything a handler threw into the status sent to the caller. A
 * VaultError keeps its message, which was written for the caller. Anything
 * else becomes INTERNAL with a generic message and the request id, so
 * internal text (SQL, paths, stack traces) never leaves the server.
 *
 * @example
 * callback(toCallStatus(error, requestId));
 */
export function toCallStatus(error: unknown, requestId: string): CallStatus {
  if (isVaultError(error) && error.reason !== "INTERNAL" && error.reason !== "DATA_CORRUPTED") {
    return build(error.reason, error.message, error.metadata, false);
  }
  const reason: VaultErrorReason = isVaultError(error) ? error.reason : "INTERNAL";
  const message =
    reason === "DATA_CORRUPTED"
      ? `stored data failed its integrity check (request id ${requestId}); the server log has details`
      : `internal error (request id ${requestId}); the server log has details`;
  return build(reason, message, { request_id: requestId }, true);
}

function build(
  reason: VaultErrorReason,
  message: string,
  extra: Readonly<Record<string, string>>,
  serverFault: boolean,
): CallStatus {
  const code = STATUS_BY_REASON[reason];
  const info = ErrorInfo.encode({ reason, domain: ERROR_DOMAIN, metadata: { ...extra } }).finish();
  const details = Status.encode({
    code,
    message,
    details: [{ typeUrl: "type.googleapis.com/google.rpc.ErrorInfo", value: Buffer.from(info) }],
  }).finish();
  const metadata = new Metadata();
  metadata.set("grpc-status-details-bin", Buffer.from(details));
  return { code, details: message, metadata, reason, serverFault };
}
