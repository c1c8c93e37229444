import type {
  handleServerStreamingCall,
  handleUnaryCall,
  Metadata,
  ServerUnaryCall,
  ServerWritableStream,
} from "@grpc/grpc-js";
import type { AuditRecord } from "../vault/audit-record.js";
import type { Caller } from "../vault/caller.js";
import { CallCancellation } from "./call-cancellation.js";
import {
  type CallHandler,
  chain,
  type Interceptor,
  type MethodInfo,
  type ServerCall,
} from "./call-pipeline.js";
import { successTrailers, toCallStatus } from "./error-status.js";
import { droppedHeadersOf } from "./transport-guard.js";

/** What a handler knows about its call besides the request. */
export interface CallContext {
  readonly caller: Caller;
  /** Aborts when the client cancels or the deadline passes. */
  readonly signal: AbortSignal;
  readonly requestId: string;
  /** The call's audit record, for a write to commit with it (undefined with audit off). */
  readonly audit: AuditRecord | undefined;
}

/** A unary handler: a plain function of the request and its context. */
export type UnaryHandler<Req, Res> = (request: Req, context: CallContext) => Promise<Res>;

/** A server-streaming handler: yields the messages to send. */
export type StreamHandler<Req, Res> = (request: Req, context: CallContext) => AsyncIterable<Res>;

/** What every method adapter shares: the chain and the server's bookkeeping. */
export interface Pipeline {
  readonly interceptors: readonly Interceptor[];
  /** Makes the id that ties a call's log line, audit record and status together. */
  readonly requestId: () => string;
  /** Calls in flight, so shutdown can wait for them. */
  readonly inFlight: Set<Promise<unknown>>;
}

/**
 * Adapts a unary handler to grpc-js: the call runs through the pipeline's
 * interceptors, then its response (or the one status its error maps to) is
 * sent, with the request id as a trailer.
 *
 * @example
 * getValue: unaryMethod(pipeline, method("hexclave.v1.VaultService", "GetValue"), (req, ctx) => …),
 */
export function unaryMethod<Req, Res>(
  pipeline: Pipeline,
  method: MethodInfo,
  handler: UnaryHandler<Req, Res>,
): handleUnaryCall<Req, Res> {
  const run = chain(pipeline.interceptors, (call) => handler(call.request as Req, contextOf(call)));
  return (grpcCall: ServerUnaryCall<Req, Res>, callback) => {
    const cancellation = new CallCancellation(grpcCall);
    const call = serverCall(grpcCall, method, pipeline.requestId(), cancellation);
    const done = run(call).then(
      (response) => {
        cancellation.finish();
        callback(null, response as Res, successTrailers(call.requestId));
      },
      (error: unknown) => {
        cancellation.finish();
        callback(toCallStatus(error, call.requestId));
      },
    );
    track(pipeline.inFlight, done);
  };
}

/**
 * Adapts a server-streaming handler to grpc-js through the same chain,
 * honouring flow control (the next message is made only once the transport
 * took the last one) and cancellation.
 *
 * @example
 * listEntries: streamMethod(pipeline, method("hexclave.v1.VaultService", "ListEntries", "serverStream"), gen),
 */
export function streamMethod<Req, Res>(
  pipeline: Pipeline,
  method: MethodInfo,
  handler: StreamHandler<Req, Res>,
): handleServerStreamingCall<Req, Res> {
  return (grpcCall: ServerWritableStream<Req, Res>) => {
    const cancellation = new CallCancellation(grpcCall);
    const call = serverCall(grpcCall, method, pipeline.requestId(), cancellation);
    const send: CallHandler = async (c) => {
      for await (const message of handler(c.request as Req, contextOf(c))) {
        if (cancellation.cancelled) return;
        await written(grpcCall, message, cancellation.signal);
      }
    };
    const done = chain(
      pipeline.interceptors,
      send,
    )(call).then(
      () => {
        cancellation.finish();
        if (!cancellation.cancelled) grpcCall.end(successTrailers(call.requestId));
      },
      (error: unknown) => {
        const result = toCallStatus(error, call.requestId);
        cancellation.finish();
        // grpc-js ends a server stream with a status only through its "error" event;
        // destroy() would close it with no status and leave the client waiting.
        if (!cancellation.cancelled) {
          grpcCall.emit("error", Object.assign(new Error(result.details), result));
        }
      },
    );
    track(pipeline.inFlight, done);
  };
}

/**
 * A method's description from its service and name.
 *
 * @example
 * method("hexclave.v1.VaultService", "GetValue")
 */
export function method(
  service: string,
  name: string,
  kind: MethodInfo["kind"] = "unary",
): MethodInfo {
  return Object.freeze({ service, name, path: `/${service}/${name}`, kind });
}

interface GrpcCall {
  readonly request: unknown;
  readonly metadata: Metadata;
  getPeer(): string;
  getDeadline(): Date | number;
  getAuthContext(): {
    sslPeerCertificate?: { subject?: Record<string, unknown>; fingerprint256?: string };
  };
}

function serverCall(
  grpcCall: GrpcCall,
  method: MethodInfo,
  requestId: string,
  cancellation: CallCancellation,
): ServerCall {
  const deadline = grpcCall.getDeadline();
  return {
    method,
    requestId,
    request: grpcCall.request,
    metadata: grpcCall.metadata,
    peer: grpcCall.getPeer(),
    clientIdentity: clientIdentityOf(grpcCall),
    startedAt: performance.now(),
    deadline: deadline instanceof Date ? deadline.getTime() : deadline,
    get signal() {
      return cancellation.signal;
    },
    get cancelled() {
      return cancellation.cancelled;
    },
    droppedHeaders: droppedHeadersOf(grpcCall.metadata),
    caller: undefined,
    presentedTokenId: undefined,
    audit: undefined,
  };
}

/** The verified client certificate's subject and fingerprint, when mTLS is on. */
function clientIdentityOf(grpcCall: GrpcCall): string | undefined {
  const cert = grpcCall.getAuthContext().sslPeerCertificate;
  if (cert === undefined) return undefined;
  const cn = cert.subject?.CN;
  const subject = typeof cn === "string" ? `CN=${cn}` : "unnamed certificate";
  const fingerprint = cert.fingerprint256?.replaceAll(":", "").toLowerCase().slice(0, 16);
  return fingerprint === undefined ? subject : `${subject} (sha256:${fingerprint}…)`;
}

function contextOf(call: ServerCall): CallContext {
  const caller = call.caller;
  if (caller === undefined) {
    throw new Error(
      `${call.method.path} reached its handler without a caller: authentication must run first`,
    );
  }
  return {
    caller,
    requestId: call.requestId,
    // The record names the token as authentication established it.
    audit: call.audit === undefined ? undefined : { ...call.audit, tokenId: caller.tokenId },
    get signal() {
      return call.signal;
    },
  };
}

/**
 * Writes one message and waits until the transport has taken it: the client's
 * flow-control window decides when the next one is made. (grpc-js buffers up
 * to 16 messages before `write` returns false, so waiting for "drain" alone
 * would let a client that never reads make the server hold 16 pages.)
 */
function written(
  call: ServerWritableStream<unknown, unknown>,
  message: unknown,
  signal: AbortSignal,
): Promise<void> {
  return new Promise((resolve) => {
    const finish = (): void => {
      signal.removeEventListener("abort", finish);
      resolve();
    };
    signal.addEventListener("abort", finish);
    call.write(message, finish);
  });
}

function track(inFlight: Set<Promise<unknown>>, done: Promise<unknown>): void {
  inFlight.add(done);
  void done.finally(() => inFlight.delete(done));
}
