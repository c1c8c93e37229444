import {
  type Metadata,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type StatusObject,
  status,
} from "@grpc/grpc-js";
import { maxRequestMessageBytes } from "../vault/limits.js";
import { VaultError } from "../vault/vault-error.js";
import type { CallObserver } from "./call-record.js";
import { outcomeOf, toCallStatus } from "./error-status.js";
import { takeDroppedHeader } from "./grpc-js-log.js";
import { tokenIdOf } from "./token-id.js";

/** Options for {@link transportGuard}. */
export interface TransportGuardOptions {
  readonly requestId: () => string;
  /** Told about every call grpc-js refuses before a handler runs. */
  readonly observe: CallObserver;
}

/**
 * The one grpc-js server interceptor. grpc-js refuses some requests itself,
 * before any handler runs: an undecodable message, a malformed grpc-timeout,
 * a body that does not decompress, a unary call with two messages. It answers
 * those INTERNAL (or UNIMPLEMENTED) with no reason, no request id and no log
 * line. This guard catches the status grpc-js sends for them and sends the
 * right one instead (INVALID_ARGUMENT, RESOURCE_EXHAUSTED, …) with an
 * ErrorInfo reason and a request id, and reports the refusal to the server's
 * log and metrics like any other call. It also remembers which request
 * headers grpc-js dropped for illegal characters, for the authentication step
 * to explain (see grpc-js-log.ts).
 *
 * It must be the first interceptor, so that it wraps grpc-js's own call
 * object: grpc-js sends these statuses through that object's `sendStatus`.
 *
 * @example
 * new Server({ interceptors: [transportGuard({ requestId, observe })] });
 */
export function transportGuard(options: TransportGuardOptions): ServerInterceptor {
  return (descriptor, call) => {
    const dropped = takeDroppedHeader();
    const started = performance.now();
    let tokenId: string | undefined;
    const base = call as ServerInterceptingCallInterface & {
      sendStatus(status: PartialStatus): void;
    };
    const send = base.sendStatus.bind(base);
    base.sendStatus = (sent: PartialStatus): void => {
      const refusal = ownStatusOf(sent) ? undefined : refusalFor(sent);
      if (refusal === undefined) {
        send(sent);
        return;
      }
      const requestId = options.requestId();
      const result = toCallStatus(refusal, requestId);
      options.observe({
        method: descriptor.path,
        requestId,
        outcome: outcomeOf(refusal),
        ms: performance.now() - started,
        peer: call.getPeer(),
        tokenId,
        storeId: undefined,
        error: refusal.cause,
      });
      send({ code: result.code, details: result.details, metadata: result.metadata });
    };
    return new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, nextMetadata) {
            tokenId = tokenIdOf(metadata.get("authorization")[0]);
            if (dropped !== undefined) droppedHeaders.set(metadata, Object.freeze([dropped]));
            nextMetadata(metadata);
          },
        });
      },
    });
  };
}

/**
 * Headers grpc-js dropped from this call's metadata because their values had
 * characters gRPC does not allow (names only, never values).
 */
export function droppedHeadersOf(metadata: Metadata): readonly string[] {
  return droppedHeaders.get(metadata) ?? NONE;
}

type PartialStatus = Pick<StatusObject, "code" | "details"> & {
  metadata?: Metadata | null;
};

const droppedHeaders = new WeakMap<Metadata, readonly string[]>();
const NONE: readonly string[] = Object.freeze([]);

/** Statuses made by Hexclave's own code carry an ErrorInfo; grpc-js's never do. */
function ownStatusOf(sent: PartialStatus): boolean {
  return (sent.metadata?.get("grpc-status-details-bin").length ?? 0) > 0;
}

/** What a status grpc-js made on its own means, as a VaultError; undefined to pass it on unchanged. */
function refusalFor(sent: PartialStatus): VaultError | undefined {
  const details = sent.details ?? "";
  switch (sent.code) {
    case status.INTERNAL:
      if (details.startsWith("Invalid grpc-timeout value")) {
        return new VaultError(
          "INVALID_TIMEOUT",
          'the "grpc-timeout" header must be 1 to 8 digits and a unit (H, M, S, m, u or n), e.g. "10S"',
        );
      }
      if (details.startsWith("Failed to decompress message")) {
        return new VaultError(
          "MALFORMED_MESSAGE",
          'the request message is marked compressed but does not decompress with the "grpc-encoding" it names: send it uncompressed',
        );
      }
      if (details.startsWith("Error deserializing request")) {
        return new VaultError(
          "MALFORMED_MESSAGE",
          "the request message is not a valid protobuf encoding of this method's request type: use a client generated from proto/hexclave/v1",
        );
      }
      // Serializing a response or writing to the socket failed: the server's side.
      return new VaultError("INTERNAL", "grpc-js failed to send a response", {
        cause: new Error(details),
      });
    case status.RESOURCE_EXHAUSTED:
      if (details.includes("larger than")) {
        return new VaultError(
          "MESSAGE_TOO_LARGE",
          `the request message is larger than this server accepts (${maxRequestMessageBytes} bytes): send a smaller value or fewer keys per call`,
          { metadata: { limit: String(maxRequestMessageBytes) } },
        );
      }
      return undefined;
    case status.UNIMPLEMENTED:
      if (details.includes("unsupported encoding")) {
        return new VaultError(
          "UNSUPPORTED_ENCODING",
          'the request message is compressed with an encoding this server does not support: send it uncompressed (no "grpc-encoding", or "identity")',
        );
      }
      if (/Received (a second|no) request message/.test(details)) {
        return new VaultError(
          "MALFORMED_MESSAGE",
          "this method takes exactly one request message: send one, then half-close the stream",
        );
      }
      return undefined; // An unknown method: UNIMPLEMENTED is the right answer.
    case status.UNKNOWN:
      return new VaultError("INTERNAL", "a handler failed outside the call pipeline", {
        cause: new Error(details),
      });
    default:
      return undefined;
  }
}
