import type { Metadata } from "@grpc/grpc-js";
import type { AuditRecord } from "../vault/audit-record.js";
import type { Caller } from "../vault/caller.js";

/**
 * The one ordered chain every Hexclave call passes through, unary and
 * streaming alike (connect-es style: an interceptor wraps the next handler).
 * Cross-cutting concerns — deadline, logging and metrics, authentication,
 * audit — are interceptors; adding one never means editing a handler. The
 * chain is assembled once, in start-server.ts; docs/architecture.md shows it.
 *
 * @example
 * const timed: Interceptor = (next) => async (call) => {
 *   const started = performance.now();
 *   try { return await next(call); } finally { console.log(performance.now() - started); }
 * };
 */
export type Interceptor = (next: CallHandler) => CallHandler;

/**
 * Runs a call to its end. A unary call resolves with its response, which is
 * sent only once every interceptor has returned (so one can still fail the
 * call, e.g. an audit record that cannot be written); a streaming call
 * resolves once its last message is handed to the transport. Rejects with why
 * the call failed.
 */
export type CallHandler = (call: ServerCall) => Promise<unknown>;

/** Which method a call is for. */
export interface MethodInfo {
  /** e.g. "hexclave.v1.VaultService". */
  readonly service: string;
  /** e.g. "GetValue". */
  readonly name: string;
  /** e.g. "/hexclave.v1.VaultService/GetValue": the HTTP/2 path. */
  readonly path: string;
  readonly kind: "unary" | "serverStream";
}

/** One call as interceptors see it. */
export interface ServerCall {
  readonly method: MethodInfo;
  /** Ties the call's log line, audit record and the caller's error together. */
  readonly requestId: string;
  /** The decoded request message. */
  readonly request: unknown;
  readonly metadata: Metadata;
  /** The client's address (`ip:port`), or "unix" for a Unix socket. */
  readonly peer: string;
  /** The client certificate's subject when mTLS is on. */
  readonly clientIdentity: string | undefined;
  /** performance.now() when the call arrived. */
  readonly startedAt: number;
  /** When the caller stops waiting (ms since the epoch), or Infinity. */
  readonly deadline: number;
  /** Aborts when the client cancels or the deadline passes. */
  readonly signal: AbortSignal;
  /** Whether the client went away (or its deadline passed) before the call finished. */
  readonly cancelled: boolean;
  /** Request headers grpc-js dropped for illegal characters (names only). */
  readonly droppedHeaders: readonly string[];
  /** Who is calling; set by the authentication interceptor. */
  caller: Caller | undefined;
  /** Token id from the `authorization` header, known or not; for logs and audit only. */
  presentedTokenId: string | undefined;
  /**
   * The call's audit record, once the audit interceptor made it: a write
   * handler passes it into its write, so it commits in the same transaction.
   */
  audit: AuditRecord | undefined;
}

/**
 * Wraps `handler` in `interceptors`, the first one outermost.
 *
 * @example
 * const run = chain([observe, authenticate], invokeHandler);
 */
export function chain(interceptors: readonly Interceptor[], handler: CallHandler): CallHandler {
  return interceptors.reduceRight<CallHandler>((next, interceptor) => interceptor(next), handler);
}
