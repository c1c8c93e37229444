import type { CallOptions, ClientUnaryCall, Metadata, ServiceError } from "@grpc/grpc-js";
import { errorFromStatus } from "./status-to-error.js";

/** The callback shape of a generated grpc-js unary method. */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/**
 * One try of a unary call.
 *
 * @example
 * const attempt: UnaryAttempt = { deadline: Date.now() + 10_000, waitForReady: true, address };
 */
export interface UnaryAttempt {
  /** When the call gives up (ms since the epoch). */
  readonly deadline: number;
  /**
   * Queue the call while no connection can be made, until the deadline,
   * instead of failing it at once (grpc-js's wait-for-ready).
   */
  readonly waitForReady: boolean;
  /** The address dialled, for error messages. */
  readonly address: string;
}

/**
 * Calls a generated unary method as a promise, once, mapping failures to
 * typed errors. A number for `attempt` is a timeout in milliseconds, without
 * wait-for-ready.
 *
 * @throws HexclaveError mapped from the call's status.
 * @example
 * const res = await unaryCall(client.getValue.bind(client), request, metadata, attempt);
 */
export function unaryCall<Req, Res>(
  method: UnaryMethod<Req, Res>,
  request: Req,
  metadata: Metadata,
  attempt: UnaryAttempt | number,
): Promise<Res> {
  const { deadline, waitForReady, address } =
    typeof attempt === "number"
      ? { deadline: Date.now() + attempt, waitForReady: false, address: undefined }
      : attempt;
  // grpc-js takes wait-for-ready as an option of the call's metadata.
  const sent = metadata.clone();
  sent.setOptions({ waitForReady });
  return new Promise((resolve, reject) => {
    method(request, sent, { deadline }, (error, response) => {
      if (error === null) resolve(response);
      else reject(errorFromStatus(error, address));
    });
  });
}
