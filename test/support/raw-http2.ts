import { type ClientHttp2Session, connect, type IncomingHttpHeaders } from "node:http2";
import { ErrorInfo } from "../../gen/google/rpc/error_details.js";
import { Status } from "../../gen/google/rpc/status.js";

/** What a raw HTTP/2 gRPC call got back. */
export interface RawAnswer {
  /** grpc-status from the trailers (or trailers-only headers); undefined if the stream was reset. */
  readonly grpcStatus: number | undefined;
  readonly grpcMessage: string;
  /** Response headers and trailers merged. */
  readonly headers: IncomingHttpHeaders;
  /** The RST_STREAM code, 0 when the stream ended normally. */
  readonly rstCode: number;
  /** Response body bytes (framed gRPC messages). */
  readonly body: Buffer;
}

/** One gRPC message framed for the wire: compressed flag, 4-byte length, payload. */
export function frame(payload: Uint8Array, compressed = false): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out[0] = compressed ? 1 : 0;
  out.writeUInt32BE(payload.length, 1);
  Buffer.from(payload).copy(out, 5);
  return out;
}

/**
 * Opens an HTTP/2 session to a server, for requests grpc-js clients refuse
 * to send (headers with tabs, broken framing), and waits for the server's
 * SETTINGS so its limits are in force.
 */
export async function rawSession(address: string): Promise<ClientHttp2Session> {
  const session = connect(`http://${address}`);
  session.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    session.once("remoteSettings", () => resolve());
    session.once("error", reject);
  });
  return session;
}

/**
 * Sends one gRPC request with exactly these headers and body bytes and
 * collects what comes back.
 *
 * @example
 * const answer = await rawCall(session, "/hexclave.v1.VaultService/GetValue", { authorization: "Bearer\tx" }, frame(body));
 */
export function rawCall(
  session: ClientHttp2Session,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      ...headers,
    });
    const merged: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => Object.assign(merged, h));
    stream.on("trailers", (t) => Object.assign(merged, t));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", () => {});
    stream.on("close", () => {
      const grpcStatus = merged["grpc-status"];
      resolve({
        grpcStatus: grpcStatus === undefined ? undefined : Number(grpcStatus),
        grpcMessage: decodeURIComponent(String(merged["grpc-message"] ?? "")),
        headers: merged,
        rstCode: stream.rstCode ?? 0,
        body: Buffer.concat(chunks),
      });
    });
    stream.end(body);
  });
}

/** The google.rpc.ErrorInfo reason in an answer's grpc-status-details-bin, if any. */
export function reasonOf(answer: RawAnswer): string | undefined {
  const raw = answer.headers["grpc-status-details-bin"];
  if (typeof raw !== "string") return undefined;
  const detail = Status.decode(Buffer.from(raw, "base64")).details[0];
  return detail === undefined ? undefined : ErrorInfo.decode(detail.value).reason;
}
