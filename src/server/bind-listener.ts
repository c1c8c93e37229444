import { once } from "node:events";
import type { Server as NetServer } from "node:net";
import { clearStaleSocket } from "./listen-address.js";

/** Where a listener is bound. */
export interface BoundAddress {
  /** What is actually bound: `0.0.0.0:50051`, `[::1]:41234`, `unix:/run/hexclave.sock`. */
  readonly boundAddress: string;
  /** The bound TCP port; undefined on a Unix socket. */
  readonly port: number | undefined;
}

/**
 * Binds `server` (any net.Server: plain, TLS, HTTP, HTTPS) to `listen` —
 * `host:port` (port 0 picks a free one; IPv6 hosts in brackets) or
 * `unix:/absolute/path` (a stale socket file is removed first) — and says
 * what it really bound. Under node:cluster a worker's bind shares the
 * leader's socket.
 *
 * @throws Error naming the address if it cannot be bound.
 * @example
 * const { boundAddress } = await bindListener(createServer(), "127.0.0.1:0");
 */
export async function bindListener(server: NetServer, listen: string): Promise<BoundAddress> {
  await clearStaleSocket(listen);
  try {
    const bound = once(server, "listening");
    const failed = once(server, "error").then(([error]) => Promise.reject(error as Error));
    if (listen.startsWith("unix:")) server.listen(listen.slice("unix:".length));
    else server.listen(splitHostPort(listen));
    await Promise.race([bound, failed]);
  } catch (error) {
    server.close();
    throw new Error(`cannot listen on ${listen}: ${(error as Error).message}`, { cause: error });
  }
  const address = server.address();
  return {
    boundAddress:
      typeof address === "string" || address === null
        ? listen
        : address.family === "IPv6"
          ? `[${address.address}]:${address.port}`
          : `${address.address}:${address.port}`,
    port: typeof address === "object" && address !== null ? address.port : undefined,
  };
}

/** Splits `host:port` (IPv6 hosts in brackets) for net.listen. */
function splitHostPort(listen: string): { host: string; port: number } {
  const colon = listen.lastIndexOf(":");
  const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  return { host, port: Number(listen.slice(colon + 1)) };
}
