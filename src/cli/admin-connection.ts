import { Metadata } from "@grpc/grpc-js";
import { AdminServiceClient } from "../../gen/hexclave/v1/admin_service.js";
import { type UnaryMethod, unaryCall } from "../client/unary-call.js";
import { resolveAddress, resolveToken } from "./client-options.js";
import { cliChannelOptions, cliCredentials } from "./tls-options.js";

/** A connected AdminService with the caller's token; calls are typed promises. */
export interface AdminConnection {
  call<Req, Res>(
    method: (client: AdminServiceClient) => UnaryMethod<Req, Res>,
    request: Req,
  ): Promise<Res>;
}

/** Per-call deadline for admin commands: DeleteStore scrubs the WAL, which takes a moment on big stores. */
const ADMIN_TIMEOUT_MS = 30_000;

/**
 * Runs `work` with an AdminService connection made from --address/--token
 * (or their environment variables), and closes it after.
 *
 * @example
 * await withAdmin(flags, (admin) => admin.call((c) => c.listStores, {}));
 */
export async function withAdmin<T>(
  flags: { address?: string | undefined; token?: string | undefined },
  work: (admin: AdminConnection) => Promise<T>,
): Promise<T> {
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${resolveToken(flags)}`);
  const address = resolveAddress(flags);
  const client = new AdminServiceClient(address, cliCredentials(), cliChannelOptions());
  try {
    return await work({
      // Admin calls are not retried: a create or revoke cut off mid-way may have been applied.
      call: (method, request) =>
        unaryCall(method(client).bind(client), request, metadata, {
          deadline: Date.now() + ADMIN_TIMEOUT_MS,
          waitForReady: false,
          address,
        }),
    });
  } finally {
    client.close();
  }
}
