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
 * @example
 * client.getValue(request, metadata, (err, res) => err ? reject(errorFromStatus(err)) : resolve(res));
 */
export function errorFromStatus(error: ServiceError): HexclaveError {
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
      return new UnavailableError(
        `the Hexclave server is unavailable (${message}): check the address and that the server is running`,
        options,
      );
    case status.DATA_LOSS:
      return new DecryptionError(options);
    case status.DEADLINE_EXCEEDED:
      return new HexclaveError(
        "DEADLINE_EXCEEDED",
        `the server did not answer in time (${message}): check that it is up and not overloaded, or raise "timeoutMs"`,
        options,
      );
  }
  return new HexclaveError(CODE_BY_STATUS[error.code] ?? "INTERNAL", message, options);
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
