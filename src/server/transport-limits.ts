import type { Server } from "@grpc/grpc-js";

/**
 * What one client can make the HTTP/2 layer hold. Every limit is set
 * explicitly rather than left to grpc-js or Node defaults (grpc-js turns
 * Node's session-memory cap off entirely), and each excess is refused
 * cleanly: a stream reset (ENHANCE_YOUR_CALM or REFUSED_STREAM) or a closed
 * connection, never a crash. docs/hardening.md lists them with their tests.
 */
export interface TransportLimits {
  /**
   * Bytes of request headers (names and values, uncompressed) per request.
   * gRPC metadata here is a bearer token and a few short headers. 16 KiB.
   */
  readonly maxHeaderListBytes: number;
  /** Header fields per request. 64. */
  readonly maxHeaderPairs: number;
  /** Streams (calls) open at once on one connection. 128. */
  readonly maxConcurrentStreams: number;
  /**
   * Megabytes one connection may hold (header tables, queued output): past
   * it, new streams on it are refused until it drains. A largest batch
   * response (~32 MiB) fits twice. 64.
   */
  readonly maxSessionMemoryMb: number;
  /** Connections open at once; more are closed on arrival. 1,024. */
  readonly maxConnections: number;
}

/** The limits a server uses unless told otherwise. */
export const DEFAULT_TRANSPORT_LIMITS: TransportLimits = Object.freeze({
  maxHeaderListBytes: 16 * 1024,
  maxHeaderPairs: 64,
  maxConcurrentStreams: 128,
  maxSessionMemoryMb: 64,
  maxConnections: 1024,
});

/**
 * grpc-js options carrying the limits it has options for.
 *
 * @example
 * new Server({ ...grpcServerOptions(DEFAULT_TRANSPORT_LIMITS) });
 */
export function grpcServerOptions(limits: TransportLimits): Record<string, number> {
  return {
    "grpc.max_concurrent_streams": limits.maxConcurrentStreams,
    "grpc-node.max_session_memory": limits.maxSessionMemoryMb,
  };
}

/**
 * Adds the limits grpc-js has no option for (header list size and pairs) to
 * the options it creates its HTTP/2 servers with. grpc-js keeps those in a
 * field it does not document; test/server/transport-limits.test.ts reads the
 * SETTINGS the server actually advertises and refuses, so a grpc-js upgrade
 * that moves the field fails that test instead of silently dropping the limits.
 *
 * @throws Error if this grpc-js keeps its HTTP/2 options elsewhere.
 */
export function applyHeaderLimits(server: Server, limits: TransportLimits): void {
  const options = (server as unknown as { commonServerOptions?: Http2Options }).commonServerOptions;
  if (options === undefined || typeof options !== "object") {
    throw new Error(
      "this grpc-js version keeps its HTTP/2 options elsewhere: update transport-limits.ts",
    );
  }
  options.maxHeaderListPairs = limits.maxHeaderPairs;
  options.settings = { ...options.settings, maxHeaderListSize: limits.maxHeaderListBytes };
}

interface Http2Options {
  maxHeaderListPairs?: number;
  settings?: { maxHeaderListSize?: number; maxConcurrentStreams?: number };
}
