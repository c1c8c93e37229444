import { randomBytes } from "node:crypto";
import type {
  handleServerStreamingCall,
  handleUnaryCall,
  Metadata,
  ServerUnaryCall,
  ServerWritableStream,
  sendUnaryData,
} from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { Authenticator } from "../vault/authenticator.js";
import type { Caller } from "../vault/caller.js";
import { toCallStatus } from "./error-status.js";

/** What a handler knows about its call besides the request. */
export interface CallContext {
  readonly caller: Caller;
  /** Aborts when the client cancels or the deadline passes. */
  readonly signal: AbortSignal;
  readonly requestId: string;
}

/** A unary handler: a plain function of the request and its context. */
export type UnaryHandler<Req, Res> = (request: Req, context: CallContext) => Promise<Res>;

/** A server-streaming handler: yields the messages to send. */
export type StreamHandler<Req, Res> = (request: Req, context: CallContext) => AsyncIterable<Res>;

/** What every handler wrapper needs. */
export interface HandlerDeps {
  readonly authenticator: Authenticator;
  readonly log: Logger;
  /** Calls in flight, so shutdown can wait for them. */
  readonly inFlight: Set<Promise<unknown>>;
  /** Makes the id that ties a call's log line to what its caller was told. */
  readonly requestId: () => string;
}

/**
 * Adapts a unary handler to grpc-js: authenticates, runs it, maps errors to
 * status in one place, and logs the outcome without secrets, key ids or blobs.
 */
export function unary<Req, Res>(
  deps: HandlerDeps,
  method: string,
  handler: UnaryHandler<Req, Res>,
): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    const started = performance.now();
    const requestId = deps.requestId();
    const cancellation = new Cancellation(call);
    const done = deps.authenticator
      .authenticate(authorizationOf(call.metadata))
      .then((caller) => handler(call.request, contextOf(caller, cancellation, requestId)))
      .then(
        (response) => {
          cancellation.finish();
          callback(null, response);
          logCall(deps.log, method, requestId, started, undefined);
        },
        (error: unknown) => {
          const result = toCallStatus(error, requestId);
          cancellation.finish();
          callback(result);
          logCall(deps.log, method, requestId, started, { ...result, error });
        },
      );
    track(deps.inFlight, done);
  };
}

/**
 * Adapts a server-streaming handler to grpc-js, honouring backpressure (waits
 * for the stream to drain) and cancellation.
 */
export function serverStream<Req, Res>(
  deps: HandlerDeps,
  method: string,
  handler: StreamHandler<Req, Res>,
): handleServerStreamingCall<Req, Res> {
  return (call: ServerWritableStream<Req, Res>) => {
    const started = performance.now();
    const requestId = deps.requestId();
    const cancellation = new Cancellation(call);
    const signal = cancellation.signal;
    const run = async (): Promise<void> => {
      const caller = await deps.authenticator.authenticate(authorizationOf(call.metadata));
      for await (const message of handler(
        call.request,
        contextOf(caller, cancellation, requestId),
      )) {
        if (signal.aborted) return;
        if (!call.write(message)) await drained(call, signal);
      }
    };
    const done = run().then(
      () => {
        cancellation.finish();
        if (!signal.aborted) call.end();
        logCall(deps.log, method, requestId, started, undefined);
      },
      (error: unknown) => {
        const result = toCallStatus(error, requestId);
        cancellation.finish();
        // grpc-js ends a server stream with a status only through its "error" event;
        // destroy() would close it with no status and leave the client waiting.
        if (!signal.aborted) call.emit("error", Object.assign(new Error(result.details), result));
        logCall(deps.log, method, requestId, started, { ...result, error });
      },
    );
    track(deps.inFlight, done);
  };
}

function authorizationOf(metadata: Metadata): string | undefined {
  const value = metadata.get("authorization")[0];
  return typeof value === "string" ? value : undefined;
}

/**
 * A call's abort signal, made only when a handler asks for it. grpc-js
 * reports every stream's close as "cancelled", finished or not; building an
 * AbortController (and aborting it) on every call cost more than a cached
 * read. Closes after the handler finished are not cancellations.
 */
class Cancellation {
  #controller: AbortController | undefined;
  #cancelled = false;
  #finished = false;

  constructor(call: { on(event: "cancelled", listener: () => void): unknown }) {
    call.on("cancelled", () => {
      if (this.#finished) return;
      this.#cancelled = true;
      this.#controller?.abort();
    });
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#cancelled) this.#controller.abort();
    }
    return this.#controller.signal;
  }

  /** The handler is done: a close from now on is the normal end of the call. */
  finish(): void {
    this.#finished = true;
  }
}

function contextOf(caller: Caller, cancellation: Cancellation, requestId: string): CallContext {
  return {
    caller,
    requestId,
    get signal() {
      return cancellation.signal;
    },
  };
}

function drained(call: ServerWritableStream<unknown, unknown>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const finish = (): void => {
      call.off("drain", finish);
      signal.removeEventListener("abort", finish);
      resolve();
    };
    call.on("drain", finish);
    signal.addEventListener("abort", finish);
  });
}

/**
 * Request ids: a random per-server prefix and a counter. Unique within a
 * server's life and across restarts in practice, and free to make — a random
 * id per call cost as much as a primary-key read.
 */
export function requestIdSource(): () => string {
  const prefix = randomBytes(4).toString("hex");
  let counter = 0;
  return () => {
    counter += 1;
    return `${prefix}-${counter.toString(36)}`;
  };
}

function track(inFlight: Set<Promise<unknown>>, done: Promise<unknown>): void {
  inFlight.add(done);
  void done.finally(() => inFlight.delete(done));
}

function logCall(
  log: Logger,
  method: string,
  requestId: string,
  started: number,
  failure: { code: number; reason: string; serverFault: boolean; error: unknown } | undefined,
): void {
  const ms = Math.round((performance.now() - started) * 100) / 100;
  if (failure === undefined) {
    if (log.isLevelEnabled("debug")) log.debug({ method, requestId, ms, code: 0 }, "call");
    return;
  }
  const fields = { method, requestId, ms, code: failure.code, reason: failure.reason };
  if (failure.serverFault) log.error({ ...fields, err: failure.error }, "call failed");
  else if (failure.reason.startsWith("TOKEN_")) log.warn(fields, "call refused: authentication");
  else if (log.isLevelEnabled("debug")) log.debug(fields, "call refused");
}
