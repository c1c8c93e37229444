import {
  type CallOptions,
  type ClientUnaryCall,
  credentials,
  Metadata,
  type ServiceError,
} from "@grpc/grpc-js";
import { expect } from "vitest";
import { ErrorInfo } from "../../gen/google/rpc/error_details.js";
import { Status } from "../../gen/google/rpc/status.js";
import { AdminServiceClient } from "../../gen/hexclave/v1/admin_service.js";
import { VaultServiceClient } from "../../gen/hexclave/v1/vault_service.js";

/** The generated clients, raw: for driving every RPC exactly as sent on the wire. */
export interface RawClients {
  readonly vault: VaultServiceClient;
  readonly admin: AdminServiceClient;
  close(): void;
}

/**
 * Connects the generated clients to `address`. grpc-js shares one connection
 * among clients of the same address unless `ownConnection` is set (tests
 * that must reach different `--workers` need their own).
 */
export function rawClients(address: string, options: { ownConnection?: boolean } = {}): RawClients {
  const channel = options.ownConnection === true ? { "grpc.use_local_subchannel_pool": 1 } : {};
  const vault = new VaultServiceClient(address, credentials.createInsecure(), channel);
  const admin = new AdminServiceClient(address, credentials.createInsecure(), channel);
  return {
    vault,
    admin,
    close() {
      vault.close();
      admin.close();
    },
  };
}

/** Metadata carrying `authorization: Bearer <token>` (none if token is undefined). */
export function bearer(token: string | undefined): Metadata {
  const metadata = new Metadata();
  if (token !== undefined) metadata.set("authorization", `Bearer ${token}`);
  return metadata;
}

type Unary<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/**
 * Calls a generated unary method and returns its response (deadline 20 s unless told).
 *
 * @example
 * const res = await call(c.admin, c.admin.listStores, {}, bearer(token));
 */
export function call<C, Req, Res>(
  client: C,
  method: Unary<Req, Res>,
  request: Req,
  metadata: Metadata,
  deadlineMs = 20_000,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(
      client,
      request,
      metadata,
      { deadline: Date.now() + deadlineMs },
      (error, response) => (error === null ? resolve(response) : reject(error)),
    );
  });
}

/** The ErrorInfo reason the server attached to a failed call. */
export function reasonOf(error: ServiceError): string | undefined {
  const raw = error.metadata?.get("grpc-status-details-bin")[0];
  if (!Buffer.isBuffer(raw)) return undefined;
  const detail = Status.decode(raw).details.find((d) => d.typeUrl.endsWith("google.rpc.ErrorInfo"));
  return detail === undefined ? undefined : ErrorInfo.decode(detail.value).reason;
}

/** Asserts a call fails with this status code and ErrorInfo reason; returns the error. */
export async function expectStatus(
  promise: Promise<unknown>,
  code: number,
  reason: string,
): Promise<ServiceError> {
  const error = (await promise.then(
    () => undefined,
    (e: unknown) => e,
  )) as ServiceError | undefined;
  expect(error, `expected status ${code} ${reason}, but the call succeeded`).toBeDefined();
  expect({ code: error?.code, reason: error === undefined ? undefined : reasonOf(error) }).toEqual({
    code,
    reason,
  });
  return error as ServiceError;
}
