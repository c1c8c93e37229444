import type { ClientHttp2Session } from "node:http2";
import {
  HealthCheckRequest,
  HealthCheckResponse,
  HealthCheckResponse_ServingStatus,
  HealthService,
} from "../../gen/grpc/health/v1/health.js";
import { grpcFrame } from "../grpc-frame.js";
import { connectRaw, type Outcome, rawCall } from "./raw-grpc-call.js";

/**
 * Well-formed unary calls over the raw transport: the attack tools' own
 * set-up, health checks and verification, without a second gRPC stack.
 */

/** The gRPC messages in a response body (length-prefixed frames); a torn last frame is dropped. */
export function grpcMessages(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at + 5 <= body.length) {
    const length = body.readUInt32BE(at + 1);
    if (at + 5 + length > body.length) break;
    out.push(body.subarray(at + 5, at + 5 + length));
    at += 5 + length;
  }
  return out;
}

/** A call's outcome, failed unless it is status 0 with one message. */
export class CallFailed extends Error {
  constructor(
    readonly path: string,
    readonly outcome: Outcome,
  ) {
    super(
      `${path} → ${outcome.kind} ${outcome.grpcStatus ?? outcome.errorCode ?? ""} ${outcome.grpcMessage ?? outcome.detail ?? ""}`.trim(),
    );
  }
}

/**
 * One unary call with a bearer token; resolves with the response message.
 *
 * @throws CallFailed if the status is not OK.
 * @example
 * const bytes = await unary(session, AdminServiceService.listStores.path, ListStoresRequest.encode({}).finish(), token);
 */
export async function unary(
  session: ClientHttp2Session,
  path: string,
  message: Uint8Array,
  token: string | undefined,
  timeoutMs = 20_000,
): Promise<Buffer> {
  const outcome = await rawCall(session, {
    path,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    chunks: [grpcFrame(message)],
    timeoutMs,
  });
  const [response] = grpcMessages(outcome.body);
  if (outcome.kind !== "status" || outcome.grpcStatus !== 0 || response === undefined) {
    throw new CallFailed(path, outcome);
  }
  return response;
}

/**
 * Whether grpc.health.v1.Health/Check says SERVING, over a fresh connection
 * (an attacked connection may be gone).
 *
 * @example
 * if (!(await healthServing(server.address))) report.crash("not serving");
 */
export async function healthServing(address: string, timeoutMs = 10_000): Promise<boolean> {
  const session = connectRaw(address);
  try {
    const bytes = await unary(
      session,
      HealthService.check.path,
      HealthCheckRequest.encode({ service: "" }).finish(),
      undefined,
      timeoutMs,
    );
    return HealthCheckResponse.decode(bytes).status === HealthCheckResponse_ServingStatus.SERVING;
  } catch {
    return false;
  } finally {
    session.destroy();
  }
}
