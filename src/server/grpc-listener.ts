import { createServer, type Server as NetServer, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { type Server, ServerCredentials } from "@grpc/grpc-js";
import { bindListener } from "./bind-listener.js";
import type { ServerTls } from "./tls-context.js";

/** Options for {@link listenGrpc}. */
export interface GrpcListenerOptions {
  /** `host:port` (port 0 picks a free one) or `unix:/absolute/path`. */
  readonly listen: string;
  /** Connections open at once; more are closed on arrival. */
  readonly maxConnections: number;
  /** Terminate TLS (and verify client certificates) here; undefined: plaintext. */
  readonly tls?: ServerTls | undefined;
}

/** A bound listener feeding a grpc-js server. */
export interface GrpcListener {
  /** What is actually bound: `0.0.0.0:50051`, `[::1]:41234`, `unix:/run/hexclave.sock`. */
  readonly boundAddress: string;
  /** The bound TCP port; undefined on a Unix socket. */
  readonly port: number | undefined;
  /** Connections open now. */
  readonly connections: () => number;
  /** Connections closed on arrival because the cap was reached, since the start. */
  readonly refusedConnections: () => number;
  /** Stops accepting connections (open ones are left to the gRPC server's shutdown). */
  close(): Promise<void>;
}

/**
 * Binds the gRPC listener itself and hands each accepted connection to
 * grpc-js (its connection injector), rather than letting grpc-js bind. The
 * server then owns the socket layer: it caps connections, knows the address
 * it really bound, and with TLS terminates TLS itself — reloading the
 * certificate without dropping the listener — and hands grpc-js the
 * decrypted stream. Under `--workers`, every worker's listen shares one
 * socket through node:cluster.
 *
 * @throws Error naming the address if it cannot be bound.
 * @example
 * const listener = await listenGrpc(server, { listen: "127.0.0.1:0", maxConnections: 1024 });
 */
export async function listenGrpc(
  server: Server,
  options: GrpcListenerOptions,
): Promise<GrpcListener> {
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  let open = 0;
  let refused = 0;
  const accept = (socket: Socket): void => {
    open += 1;
    socket.once("close", () => {
      open -= 1;
    });
    // A reset from a client that went away must not become an uncaught error.
    socket.on("error", () => {});
    injector.injectConnection(socket);
  };
  const tls = options.tls;
  const net: NetServer =
    tls === undefined
      ? createServer(accept)
      : createTlsServer({ ...tls.serverOptions(), ALPNProtocols: ["h2"] }, accept);
  if (tls !== undefined) {
    tls.attach(net as ReturnType<typeof createTlsServer>);
    // A client that is not speaking TLS, or fails the handshake, is dropped; never an uncaught error.
    net.on("tlsClientError", (_error, socket) => socket.destroy());
  }
  // Past the cap, Node closes a new connection at once and reports it here.
  net.maxConnections = options.maxConnections;
  net.on("drop", () => {
    refused += 1;
  });
  const { boundAddress, port } = await bindListener(net, options.listen);
  return {
    boundAddress,
    port,
    connections: () => open,
    refusedConnections: () => refused,
    async close() {
      await new Promise<void>((resolve) => net.close(() => resolve()));
    },
  };
}
