import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Socket } from "node:net";
import { bindListener } from "../bind-listener.js";
import type { ServerTls } from "../tls-context.js";
import type { HttpHandler } from "./http-routes.js";

/** What one client may make the HTTP listener hold. */
export const HTTP_LIMITS = Object.freeze({
  /** Connections open at once; more are closed on arrival. */
  maxConnections: 256,
  /** Bytes of request line and headers. */
  maxHeaderBytes: 16 * 1024,
  /** Time to receive the headers. */
  headersTimeoutMs: 10_000,
  /** Time to receive the whole request. */
  requestTimeoutMs: 30_000,
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: 5_000,
});

/** Options for {@link listenHttp}. */
export interface HttpListenerOptions {
  /** `host:port` (port 0 picks a free one) or `unix:/absolute/path`. */
  readonly listen: string;
  /** The server's TLS (the gRPC listener's certificate); undefined: plaintext. */
  readonly tls: ServerTls | undefined;
  readonly handle: HttpHandler;
}

/** A bound HTTP listener. */
export interface HttpListener {
  readonly boundAddress: string;
  readonly port: number | undefined;
  /** Stops accepting, closes idle connections, waits for requests in flight. */
  close(): Promise<void>;
}

/**
 * The HTTP/1.1 listener for probes, metrics and the dashboard: HTTPS with the
 * gRPC listener's certificate (reloaded with it) when TLS is on. Client
 * certificates are not asked for: probes, Prometheus and browsers connect
 * without one, and nothing here serves data without its own check (the
 * dashboard asks for an admin token). Bounded like the gRPC listener:
 * connections, header size, slow clients.
 *
 * @throws Error naming the address if it cannot be bound.
 * @example
 * const http = await listenHttp({ listen: "127.0.0.1:8080", tls: undefined, handle });
 */
export async function listenHttp(options: HttpListenerOptions): Promise<HttpListener> {
  const common = {
    maxHeaderSize: HTTP_LIMITS.maxHeaderBytes,
    headersTimeout: HTTP_LIMITS.headersTimeoutMs,
    requestTimeout: HTTP_LIMITS.requestTimeoutMs,
    keepAliveTimeout: HTTP_LIMITS.keepAliveTimeoutMs,
  };
  const tls = options.tls;
  let server: HttpServer;
  if (tls === undefined) {
    server = createHttpServer(common, options.handle);
  } else {
    const https = createHttpsServer(
      { ...tls.serverOptions(), ...common, requestCert: false },
      options.handle,
    );
    tls.attach(https);
    https.on("tlsClientError", (_error, socket) => socket.destroy());
    server = https;
  }
  server.maxConnections = HTTP_LIMITS.maxConnections;
  // A malformed request (bad framing, headers too large) gets a bare 400/431 and the socket closes.
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const code =
      error.code === "HPE_HEADER_OVERFLOW"
        ? "431 Request Header Fields Too Large"
        : "400 Bad Request";
    socket.end(`HTTP/1.1 ${code}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
  const { boundAddress, port } = await bindListener(server, options.listen);
  return {
    boundAddress,
    port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), 5_000);
      await closed;
      clearTimeout(timer);
    },
  };
}
