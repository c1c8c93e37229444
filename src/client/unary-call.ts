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
 * Calls a generated unary method as a promise, with a deadline, mapping
 * failures to typed errors.
 *
 * @throws HexclaveError mapped from the call's status.
 * @example
 * const res = await unaryCall(client.getValue.bind(client), request, metadata, 10_000);
 */
export function unaryCall<Req, Res>(
  method: UnaryMethod<Req, Res>,
  request: Req,
  metadata: Metadata,
  timeoutMs: number,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, metadata, { deadline: Date.now() + timeoutMs }, (error, response) => {
      if (error === null) resolve(response);
      else reject(errorFromStatus(error));
    });
  });
}
