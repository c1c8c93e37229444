import { Server } from "@grpc/grpc-js";
import { HealthService } from "../../gen/grpc/health/v1/health.js";
import { ServerReflectionService as ReflectionV1 } from "../../gen/grpc/reflection/v1/reflection.js";
import { ServerReflectionService as ReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection.js";
import { AdminServiceService } from "../../gen/hexclave/v1/admin_service.js";
import { VaultServiceService } from "../../gen/hexclave/v1/vault_service.js";
import { maxRequestMessageBytes, maxResponseMessageBytes } from "../vault/limits.js";
import type { Vault } from "../vault/vault.js";
import { adminServiceHandlers } from "./admin-service.js";
import type { Interceptor } from "./call-pipeline.js";
import type { CallObserver } from "./call-record.js";
import type { Pipeline } from "./grpc-method.js";
import { type HealthState, healthHandlers } from "./health-service.js";
import { ReflectionIndex, reflectionHandler } from "./reflection-service.js";
import { transportGuard } from "./transport-guard.js";
import { applyHeaderLimits, grpcServerOptions, type TransportLimits } from "./transport-limits.js";
import { vaultServiceHandlers } from "./vault-service.js";

/** The services the server offers, by their full names (also the health service's names). */
export const SERVICE_NAMES = [
  "hexclave.v1.VaultService",
  "hexclave.v1.AdminService",
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
] as const;

/** Every method path of the Hexclave services (metrics count any other path as "unknown"). */
export const HEXCLAVE_METHOD_PATHS: ReadonlySet<string> = new Set(
  [...Object.values(VaultServiceService), ...Object.values(AdminServiceService)].map((m) => m.path),
);

/** The methods whose handlers commit the call's audit record with their own write. */
export const AUDITED_WRITES: ReadonlySet<string> = new Set(
  [
    "hexclave.v1.VaultService/SetValue",
    "hexclave.v1.VaultService/DeleteValue",
    "hexclave.v1.VaultService/RegisterSecret",
    "hexclave.v1.VaultService/RetireSecret",
    "hexclave.v1.AdminService/CreateStore",
    "hexclave.v1.AdminService/DeleteStore",
    "hexclave.v1.AdminService/CreateToken",
    "hexclave.v1.AdminService/RevokeToken",
  ].map((m) => `/${m}`),
);

/** What {@link createGrpcServer} wires together. */
export interface GrpcServerParts {
  /** The vault, once it is open: calls before then are refused by the pipeline. */
  readonly vault: () => Vault;
  readonly interceptors: readonly Interceptor[];
  readonly requestId: () => string;
  readonly observe: CallObserver;
  readonly health: HealthState;
  readonly limits: TransportLimits;
}

/**
 * The grpc-js server with every service registered: Hexclave's two services
 * through the call pipeline, health and reflection without authentication,
 * and the transport guard and limits around all of them.
 *
 * @example
 * const { server, pipeline } = createGrpcServer({ vault: () => vault, interceptors, requestId, observe, health, limits });
 */
export function createGrpcServer(parts: GrpcServerParts): { server: Server; pipeline: Pipeline } {
  const pipeline: Pipeline = {
    interceptors: parts.interceptors,
    requestId: parts.requestId,
    inFlight: new Set(),
  };
  const server = new Server({
    "grpc.max_receive_message_length": maxRequestMessageBytes,
    "grpc.max_send_message_length": maxResponseMessageBytes,
    ...grpcServerOptions(parts.limits),
    interceptors: [transportGuard({ requestId: parts.requestId, observe: parts.observe })],
  });
  applyHeaderLimits(server, parts.limits);
  server.addService(
    VaultServiceService,
    vaultServiceHandlers(pipeline, () => parts.vault().data),
  );
  server.addService(
    AdminServiceService,
    adminServiceHandlers(pipeline, () => parts.vault().admin),
  );
  server.addService(HealthService, healthHandlers(parts.health));
  const reflection = reflectionHandler(new ReflectionIndex(SERVICE_NAMES));
  server.addService(ReflectionV1, { serverReflectionInfo: reflection });
  server.addService(ReflectionV1alpha, { serverReflectionInfo: reflection });
  return { server, pipeline };
}
