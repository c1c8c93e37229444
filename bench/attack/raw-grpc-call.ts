import http2, { type ClientHttp2Session, type IncomingHttpHeaders } from "node:http2";

/**
 * One gRPC call sent over a raw node:http2 stream, byte for byte as the
 * attacker wrote it — headers, DATA chunks, a reset or a torn-down session —
 * and what came back, classified. grpc-js clients validate and frame for
 * you; an attacker does not.
 */

/** Header values as node:http2 takes them; `null` removes a default header. */
export type RawHeaders = Readonly<Record<string, string | readonly string[] | null>>;

/** How the attacker ends the call early, if at all. */
export interface Interruption {
  /** After how many DATA chunks (0: right after the headers), or after the half-close. */
  readonly afterChunks: number | "end";
  /** Delay before interrupting, in ms (0: at once). */
  readonly delayMs: number;
  /** RST_STREAM(CANCEL), destroy the whole session, or GOAWAY the session. */
  readonly how: "rst" | "destroy-session" | "goaway";
}

/** One request as sent. */
export interface RawRequest {
  readonly path: string;
  /** Merged over the defaults (POST, application/grpc, te: trailers). */
  readonly headers?: RawHeaders;
  /** DATA frames' payloads, written one by one. */
  readonly chunks: readonly Uint8Array[];
  /** Half-close after the chunks (default true). */
  readonly end?: boolean;
  readonly interrupt?: Interruption;
  /** Give up waiting after this long (the stream is then reset). */
  readonly timeoutMs: number;
  /** Stop reading after this many response bytes and reset (long streams). */
  readonly maxResponseBytes?: number;
}

/** How a call ended, from the attacker's side. */
export type OutcomeKind =
  | "status" // a grpc-status arrived (trailers, or trailers-only headers)
  | "http" // an HTTP status other than 200 and no grpc-status
  | "rst" // the server reset the stream
  | "goaway" // the session was refused or torn down (GOAWAY, socket closed)
  | "self-cancelled" // the attacker interrupted it (or read enough and reset)
  | "no-status" // the stream ended cleanly without a grpc-status: a protocol violation
  | "timeout" // nothing ended the stream in time
  | "refused-locally"; // node:http2 would not send these headers

/** What came back. */
export interface Outcome {
  readonly kind: OutcomeKind;
  readonly grpcStatus?: number;
  /** grpc-message, percent-decoded. */
  readonly grpcMessage?: string;
  readonly httpStatus?: number;
  /** The RST_STREAM or GOAWAY code. */
  readonly errorCode?: number;
  readonly headers: IncomingHttpHeaders;
  readonly trailers: IncomingHttpHeaders;
  /** Every response DATA byte, gRPC framing included. */
  readonly body: Buffer;
  readonly detail?: string;
  readonly ms: number;
}

const DEFAULT_HEADERS: RawHeaders = {
  ":method": "POST",
  "content-type": "application/grpc",
  te: "trailers",
};

/**
 * Opens an HTTP/2 session that lets the attacker send large header blocks
 * (node's client would otherwise refuse them before the server sees them).
 *
 * @example
 * const session = connectRaw("127.0.0.1:50051");
 */
export function connectRaw(address: string): ClientHttp2Session {
  const session = http2.connect(`http://${address}`, {
    maxSendHeaderBlockLength: 4 * 1024 * 1024,
    maxHeaderListPairs: 4096,
    // The server's answers are small; the attacker's own limits must not be what refuses them.
    maxSessionMemory: 64,
  });
  // A session error is an outcome of the probe that caused it, reported through its streams.
  session.on("error", () => {});
  session.on("goaway", (code: number) => goaways.set(session, code));
  return session;
}

/** The GOAWAY code a session received, if any. */
const goaways = new WeakMap<ClientHttp2Session, number>();

/** Whether new streams can still be opened on `session` (not closed, destroyed or GOAWAY'd). */
export function sessionUsable(session: ClientHttp2Session): boolean {
  return !session.destroyed && !session.closed && !goaways.has(session);
}

/**
 * Sends one raw call and resolves with what happened; never rejects.
 *
 * @example
 * const outcome = await rawCall(session, { path: "/grpc.health.v1.Health/Check", chunks: [grpcFrame(Buffer.alloc(0))], timeoutMs: 5000 });
 */
export function rawCall(session: ClientHttp2Session, request: RawRequest): Promise<Outcome> {
  const started = performance.now();
  const headers: Record<string, string | string[]> = { ":path": request.path };
  for (const [name, value] of Object.entries({ ...DEFAULT_HEADERS, ...request.headers })) {
    if (value === null) continue;
    headers[name] = typeof value === "string" ? value : [...value];
  }
  return new Promise((resolve) => {
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(headers, { endStream: false });
    } catch (error) {
      resolve(finish("refused-locally", { detail: (error as Error).message }));
      return;
    }
    let responseHeaders: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    const body: Buffer[] = [];
    let bodyBytes = 0;
    let selfCancelled = false;
    let streamError: (Error & { code?: string }) | undefined;
    let settled = false;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      stream.close(http2.constants.NGHTTP2_CANCEL);
    }, request.timeoutMs);

    // A call that never half-closes is over once its status arrives.
    const closeIfOpen = (): void => {
      if (request.end === false && !stream.closed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
    };
    stream.on("response", (h) => {
      responseHeaders = h;
      if (h["grpc-status"] !== undefined) stream.once("end", closeIfOpen);
    });
    stream.on("trailers", (t) => {
      trailers = t;
      stream.once("end", closeIfOpen);
    });
    stream.on("data", (chunk: Buffer) => {
      bodyBytes += chunk.length;
      if (bodyBytes <= 1024 * 1024) body.push(chunk);
      if (request.maxResponseBytes !== undefined && bodyBytes >= request.maxResponseBytes) {
        selfCancelled = true;
        stream.close(http2.constants.NGHTTP2_CANCEL);
      }
    });
    stream.on("error", (error: Error & { code?: string }) => {
      streamError = error;
    });
    stream.on("close", () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const goawayCode = goaways.get(session);
      const status = trailers["grpc-status"] ?? responseHeaders["grpc-status"];
      const common = {
        headers: responseHeaders,
        trailers,
        body: Buffer.concat(body),
      };
      if (status !== undefined) {
        const message = trailers["grpc-message"] ?? responseHeaders["grpc-message"];
        resolve(
          finish("status", {
            ...common,
            grpcStatus: Number(status),
            ...(message === undefined ? {} : { grpcMessage: percentDecode(String(message)) }),
          }),
        );
        return;
      }
      if (selfCancelled) return resolve(finish("self-cancelled", common));
      if (timedOut) return resolve(finish("timeout", common));
      const httpStatus = Number(responseHeaders[":status"] ?? 200);
      if (httpStatus !== 200) {
        return resolve(finish("http", { ...common, httpStatus }));
      }
      if (goawayCode !== undefined || session.destroyed || isSessionError(streamError)) {
        return resolve(
          finish("goaway", {
            ...common,
            ...(goawayCode === undefined ? {} : { errorCode: goawayCode }),
            ...(streamError === undefined ? {} : { detail: streamError.message }),
          }),
        );
      }
      if (stream.rstCode !== undefined && stream.rstCode !== 0) {
        return resolve(finish("rst", { ...common, errorCode: stream.rstCode }));
      }
      resolve(finish("no-status", common));
    });

    void send(stream, request, () => {
      selfCancelled = true;
    });
  });

  function finish(kind: OutcomeKind, rest: Partial<Outcome>): Outcome {
    return {
      kind,
      headers: {},
      trailers: {},
      body: Buffer.alloc(0),
      ...rest,
      ms: performance.now() - started,
    };
  }
}

async function send(
  stream: http2.ClientHttp2Stream,
  request: RawRequest,
  markCancelled: () => void,
): Promise<void> {
  const interrupt = request.interrupt;
  const chunks = request.chunks;
  for (let i = 0; i <= chunks.length; i++) {
    if (interrupt?.afterChunks === i) {
      await interruptNow(stream, interrupt, markCancelled);
      if (interrupt.how !== "goaway") return;
    }
    const chunk = chunks[i];
    if (chunk === undefined) break;
    if (stream.destroyed || stream.closed) return;
    if (!stream.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          stream.off("drain", done);
          stream.off("close", done);
          resolve();
        };
        stream.on("drain", done);
        stream.on("close", done);
      });
    }
  }
  if (request.end !== false && !stream.destroyed && !stream.closed) stream.end();
  if (interrupt?.afterChunks === "end") await interruptNow(stream, interrupt, markCancelled);
}

async function interruptNow(
  stream: http2.ClientHttp2Stream,
  interrupt: Interruption,
  markCancelled: () => void,
): Promise<void> {
  if (interrupt.delayMs > 0) await new Promise((r) => setTimeout(r, interrupt.delayMs));
  if (stream.closed || stream.destroyed) return;
  markCancelled();
  if (interrupt.how === "rst") stream.close(http2.constants.NGHTTP2_CANCEL);
  else if (interrupt.how === "goaway") stream.session?.goaway(http2.constants.NGHTTP2_NO_ERROR);
  else stream.session?.destroy();
}

function isSessionError(error: (Error & { code?: string }) | undefined): boolean {
  return (
    error?.code === "ERR_HTTP2_SESSION_ERROR" ||
    error?.code === "ERR_HTTP2_GOAWAY_SESSION" ||
    error?.code === "ERR_HTTP2_STREAM_CANCEL" ||
    error?.code === "ERR_HTTP2_INVALID_SESSION"
  );
}

function percentDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
