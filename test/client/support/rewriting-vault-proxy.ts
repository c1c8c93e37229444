import {
  Client,
  credentials,
  type handleServerStreamingCall,
  type handleUnaryCall,
  Server,
  ServerCredentials,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { VaultServiceService } from "../../../gen/hexclave/v1/vault_service.js";

/** A VaultService method name, as the generated service definition spells it. */
export type VaultMethod = keyof typeof VaultServiceService;

/**
 * Changes a response on its way to the client: what a hostile server, or anyone between the
 * client and an honest one, can do. `call` counts this method's calls from 1.
 */
export type ResponseRewriter = (method: VaultMethod, response: unknown, call: number) => unknown;

/** A gRPC-level man in the middle in front of a real server. */
export interface RewritingVaultProxy {
  /** `127.0.0.1:<port>` to dial instead of the server. */
  readonly address: string;
  /** How many calls of `method` it has forwarded. */
  calls(method: VaultMethod): number;
  close(): Promise<void>;
}

/**
 * Starts a VaultService on port 0 that forwards every call, metadata included, to `target`
 * and passes each response (each page, for a stream) through `rewrite`. Errors pass through
 * unchanged. Unlike a TCP proxy it sees decoded messages, so a rewrite can change a field
 * without touching HTTP/2 framing.
 *
 * @example
 * const proxy = await startRewritingVaultProxy(server.address, (method, res, n) =>
 *   method === "describeStore" && n > 1 ? withSalt(res, randomBytes(32)) : res,
 * );
 */
export async function startRewritingVaultProxy(
  target: string,
  rewrite: ResponseRewriter,
): Promise<RewritingVaultProxy> {
  const upstream = new Client(target, credentials.createInsecure());
  const counts = new Map<VaultMethod, number>();
  const count = (method: VaultMethod): number => {
    const n = (counts.get(method) ?? 0) + 1;
    counts.set(method, n);
    return n;
  };
  const handlers: UntypedServiceImplementation = {};
  for (const [name, def] of Object.entries(VaultServiceService)) {
    const method = name as VaultMethod;
    const { path, requestSerialize, responseDeserialize } = def as {
      path: string;
      requestSerialize: (value: unknown) => Buffer;
      responseDeserialize: (bytes: Buffer) => unknown;
    };
    if (def.responseStream) {
      const stream: handleServerStreamingCall<unknown, unknown> = (call) => {
        const n = count(method);
        const up = upstream.makeServerStreamRequest(
          path,
          requestSerialize,
          responseDeserialize,
          call.request,
          call.metadata,
        );
        up.on("data", (page: unknown) => call.write(rewrite(method, page, n)));
        up.on("end", () => call.end());
        up.on("error", (error) => call.destroy(error));
        call.on("cancelled", () => up.cancel());
      };
      handlers[method] = stream;
    } else {
      const unary: handleUnaryCall<unknown, unknown> = (call, callback) => {
        const n = count(method);
        upstream.makeUnaryRequest(
          path,
          requestSerialize,
          responseDeserialize,
          call.request,
          call.metadata,
          (error, response) =>
            error === null ? callback(null, rewrite(method, response, n)) : callback(error),
        );
      };
      handlers[method] = unary;
    }
  }
  const server = new Server();
  server.addService(VaultServiceService, handlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) =>
      error === null ? resolve(bound) : reject(error),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    calls: (method) => counts.get(method) ?? 0,
    async close() {
      server.forceShutdown();
      upstream.close();
    },
  };
}
