import { type ServiceError, status } from "@grpc/grpc-js";
import { ErrorInfo } from "../../gen/google/rpc/error_details.js";
import { Status } from "../../gen/google/rpc/status.js";
import {
  DecryptionError,
  HexclaveError,
  type HexclaveErrorCode,
  type HexclaveErrorOptions,
  PermissionDeniedError,
  StoreNotFoundError,
  UnauthenticatedError,
  UnavailableError,
  UnknownSecretError,
  ValueTooLargeError,
  VersionConflictError,
} from "./hexclave-error.js";

const ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo";

/** Codes for statuses that carry no reason the client knows better. */
const CODE_BY_STATUS: Partial<Record<status, HexclaveErrorCode>> = {
  [status.INVALID_ARGUMENT]: "INVALID_ARGUMENT",
  [status.NOT_FOUND]: "NOT_FOUND",
  [status.ALREADY_EXISTS]: "ALREADY_EXISTS",
  [status.PERMISSION_DENIED]: "PERMISSION_DENIED",
  [status.UNAUTHENTICATED]: "UNAUTHENTICATED",
  [status.RESOURCE_EXHAUSTED]: "RESOURCE_EXHAUSTED",
  [status.ABORTED]: "VERSION_CONFLICT",
  [status.UNAVAILABLE]: "UNAVAILABLE",
  [status.DEADLINE_EXCEEDED]: "DEADLINE_EXCEEDED",
  [status.CANCELLED]: "CANCELLED",
  [status.DATA_LOSS]: "DECRYPTION_FAILED",
};

/**
 * The one mapping from a gRPC status (and the ErrorInfo reason the server
 * puts in `grpc-status-details-bin`) to a typed client error.
 *
 * Failures grpc-js makes up itself (no connection, a dropped one, a deadline)
 * get a plain sentence naming `address`; grpc-js's own text ("Resolution
 * note", timings) stays in `cause`, for logs.
 *
 * @example
 * client.getValue(request, metadata, (err, res) => err ? reject(errorFromStatus(err, address)) : resolve(res));
 */
export function errorFromStatus(error: ServiceError, address = "the address"): HexclaveError {
  const info = errorInfoOf(error);
  const options: HexclaveErrorOptions = {
    reason: info?.reason,
    metadata: info?.metadata,
    cause: error,
  };
  const message = error.details || error.message;
  switch (info?.reason) {
    case "STORE_NOT_FOUND":
      return new StoreNotFoundError(message, options);
    case "UNKNOWN_SECRET":
      return new UnknownSecretError(message, options);
    case "DATA_CORRUPTED":
      return new DecryptionError(options);
    case "VALUE_TOO_LARGE":
      return new ValueTooLargeError(message, options);
    case "VERSION_CONFLICT":
      return new VersionConflictError(message, options);
    case "SECRET_IN_USE":
      return new HexclaveError("SECRET_IN_USE", message, options);
  }
  switch (error.code) {
    case status.PERMISSION_DENIED:
      return new PermissionDeniedError(message, options);
    case status.UNAUTHENTICATED:
      return new UnauthenticatedError(message, options);
    case status.UNAVAILABLE:
      // With a reason, the server itself answered (shutting down, its database out of reach).
      return new UnavailableError(
        info?.reason === undefined
          ? `cannot reach the Hexclave server at ${address}${transportProblem(message)}: check the address and that the server is running`
          : `the Hexclave server at ${address} is unavailable: ${message}`,
        options,
      );
    case status.DATA_LOSS:
      return new DecryptionError(options);
    case status.DEADLINE_EXCEEDED:
      return new HexclaveError(
        "DEADLINE_EXCEEDED",
        `the Hexclave server at ${address} did not answer in time: check that it is up and not overloaded, or raise "timeoutMs"`,
        options,
      );
  }
  return new HexclaveError(CODE_BY_STATUS[error.code] ?? "INTERNAL", message, options);
}

/** Socket errors grpc-js reports inside its details, as a reader would say them. */
const SOCKET_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ETIMEDOUT: "connection timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ENOTFOUND: "name not found",
  EAI_AGAIN: "name lookup failed",
  ENOENT: "no such socket",
  EACCES: "permission denied",
};

/** " (connection refused)" when grpc-js's text names a socket error; "" otherwise. */
function transportProblem(details: string): string {
  if (/Connection dropped|Stream refused/.test(details)) return " (the connection was lost)";
  const code = /\b(E[A-Z_]{3,})\b/.exec(details)?.[1];
  const said = code === undefined ? undefined : SOCKET_ERRORS[code];
  return said === undefined ? "" : ` (${said})`;
}

function errorInfoOf(error: ServiceError): ErrorInfo | undefined {
  const raw = error.metadata?.get("grpc-status-details-bin")[0];
  if (!Buffer.isBuffer(raw)) return undefined;
  try {
    const detail = Status.decode(raw).details.find((d) => d.typeUrl === ERROR_INFO_TYPE);
    return detail === undefined ? undefined : ErrorInfo.decode(detail.value);
  } catch {
    return undefined;
  }
}
