import { mkdir } from "node:fs/promises";
import { Server } from "@grpc/grpc-js";
import type { Logger } from "pino";
import {
  HealthService,
  HealthCheckResponse_ServingStatus as Serving,
} from "../../gen/grpc/health/v1/health.js";
import { ServerReflectionService as ReflectionV1 } from "../../gen/grpc/reflection/v1/reflection.js";
import { ServerReflectionService as ReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection.js";
import { AdminServiceService } from "../../gen/hexclave/v1/admin_service.js";
import { VaultServiceService } from "../../gen/hexclave/v1/vault_service.js";
import { openStorage, type Storage } from "../storage/open-storage.js";
import { maxRequestMessageBytes, maxResponseMessageBytes } from "../vault/limits.js";
import { openVault, type Vault } from "../vault/vault.js";
import type { WriteBatcherOptions } from "../vault/write-batcher.js";
import { adminServiceHandlers } from "./admin-service.js";
import { callLog } from "./call-log.js";
import { ADMIN_TOKEN_FILE, ensureFirstAdminToken } from "./first-admin-token.js";
import { routeGrpcJsLog } from "./grpc-js-log.js";
import { type GrpcListener, listenGrpc } from "./grpc-listener.js";
import type { Pipeline } from "./grpc-method.js";
import { HealthState, healthHandlers } from "./health-service.js";
import { authenticate } from "./interceptors/authenticate.js";
import { limitStreams } from "./interceptors/limit-streams.js";
import { observeCalls } from "./interceptors/observe-calls.js";
import { refuseExpired } from "./interceptors/refuse-expired.js";
import { dialAddress } from "./listen-address.js";
import { createLogger } from "./logger.js";
import { loadMasterKey } from "./master-key.js";
import { checkDataDir } from "./private-files.js";
import { ReflectionIndex, reflectionHandler } from "./reflection-service.js";
import { requestIdSource } from "./request-id.js";
import { resolveServerConfig, type ServerConfig, type ServerFlags } from "./server-config.js";
import { transportGuard } from "./transport-guard.js";
import {
  applyHeaderLimits,
  DEFAULT_TRANSPORT_LIMITS,
  grpcServerOptions,
  type TransportLimits,
} from "./transport-limits.js";
import { vaultServiceHandlers } from "./vault-service.js";

export { ADMIN_TOKEN_FILE };

/** Options for {@link startServer}; unset ones come from the environment, then defaults. */
export interface StartServerOptions extends ServerFlags {
  /** Environment to read HEXCLAVE_* settings from. Default: process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** A logger to use instead of JSON lines on stdout. */
  readonly logger?: Logger;
  /** Group-commit tuning (batch size, queue bound). */
  readonly writes?: WriteBatcherOptions;
  /** Run writes on their own thread (default true); see openStorage. */
  readonly writerThread?: boolean;
  /** How long shutdown waits for calls in flight. Default 10 s. */
  readonly shutdownGraceMs?: number;
  /** What one client may make the transport hold; see TransportLimits. */
  readonly transportLimits?: Partial<TransportLimits>;
}

/** A running server. */
export interface RunningServer {
  /** The address to dial: `host:port` with the bound port, or `unix:/path`. */
  readonly address: string;
  /** What is actually bound, e.g. `0.0.0.0:50051`. */
  readonly boundAddress: string;
  /** The bound TCP port; undefined on a Unix socket. */
  readonly port: number | undefined;
  /** Where the first admin token was written, if this start made one. */
  readonly adminTokenFile: string | undefined;
  readonly config: ServerConfig;
  /**
   * Graceful stop: reports NOT_SERVING, stops accepting calls, lets calls in
   * flight finish within the grace period (then cancels them), commits queued
   * writes, and closes the database.
   */
  close(): Promise<void>;
}

const SERVICE_NAMES = [
  "hexclave.v1.VaultService",
  "hexclave.v1.AdminService",
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
] as const;

/**
 * Starts the Hexclave gRPC server.
 *
 * @throws Error if the configuration is invalid, the master key does not
 *   match the data, or the address cannot be bound.
 * @example
 * import { startServer } from "hexclave/server";
 * const server = await startServer({ listen: "127.0.0.1:0", dataDir: "/tmp/hx" });
 * console.log(server.address);
 * await server.close();
 */
export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const config = Object.freeze({
    ...resolveServerConfig(options, options.env ?? process.env),
    ...(options.shutdownGraceMs === undefined ? {} : { shutdownGraceMs: options.shutdownGraceMs }),
  });
  const limits = Object.freeze({ ...DEFAULT_TRANSPORT_LIMITS, ...options.transportLimits });
  const log = options.logger ?? createLogger(config.logLevel);
  routeGrpcJsLog(log);
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const dirWarning = await checkDataDir(config.dataDir);
  if (dirWarning !== undefined) log.warn({ dataDir: config.dataDir }, dirWarning);
  const masterKey = await loadMasterKey(config, log);
  const health = new HealthState(SERVICE_NAMES);
  const storage = await openStorage({
    ...config,
    masterKey,
    ...(options.writes === undefined ? {} : { writes: options.writes }),
    ...(options.writerThread === undefined ? {} : { writerThread: options.writerThread }),
    onWriterFailure: (err) => {
      // Nothing can be written any more: stop taking traffic, keep answering why.
      log.fatal({ err }, "the writer thread failed: writes fail until the server is restarted");
      health.setAll(Serving.NOT_SERVING);
    },
  });
  let vault: Vault;
  let adminTokenFile: string | undefined;
  try {
    vault = await openVault({
      reads: storage.reads,
      writes: storage.writes,
      masterKey,
      bootstrapAdminToken: config.adminToken,
      entryCacheBytes: config.entryCacheMb * 1024 * 1024,
      onBackgroundError: (err, context) => log.error({ err, context }, "background task failed"),
    });
    adminTokenFile =
      config.adminToken === undefined
        ? await ensureFirstAdminToken(vault, config.dataDir, log)
        : undefined;
  } catch (error) {
    await storage.close();
    throw error;
  }

  const requestId = requestIdSource();
  const observe = callLog(log);
  const pipeline: Pipeline = {
    // The order is the design: docs/architecture.md, "The call pipeline".
    interceptors: [
      observeCalls(observe),
      refuseExpired(),
      authenticate(vault.authenticator),
      limitStreams(),
    ],
    requestId,
    inFlight: new Set(),
  };
  const server = new Server({
    "grpc.max_receive_message_length": maxRequestMessageBytes,
    "grpc.max_send_message_length": maxResponseMessageBytes,
    ...grpcServerOptions(limits),
    interceptors: [transportGuard({ requestId, observe })],
  });
  applyHeaderLimits(server, limits);
  server.addService(VaultServiceService, vaultServiceHandlers(pipeline, vault.data));
  server.addService(AdminServiceService, adminServiceHandlers(pipeline, vault.admin));
  server.addService(HealthService, healthHandlers(health));
  const reflection = reflectionHandler(new ReflectionIndex(SERVICE_NAMES));
  server.addService(ReflectionV1, { serverReflectionInfo: reflection });
  server.addService(ReflectionV1alpha, { serverReflectionInfo: reflection });

  let listener: GrpcListener;
  try {
    listener = await listenGrpc(server, {
      listen: config.listen,
      maxConnections: limits.maxConnections,
    });
  } catch (error) {
    server.forceShutdown();
    await vault.close();
    await storage.close();
    throw error;
  }
  health.setAll(Serving.SERVING);
  const address = dialAddress(listener.boundAddress);
  log.info(
    {
      address: listener.boundAddress,
      dataDir: config.dataDir,
      storage: config.databaseUrl === undefined ? "sqlite" : "postgres",
    },
    "hexclave serving",
  );

  let closing: Promise<void> | undefined;
  return {
    address,
    boundAddress: listener.boundAddress,
    port: listener.port,
    adminTokenFile,
    config,
    close() {
      closing ??= shutdown(
        { server, listener, health, pipeline, vault, storage, log },
        config.shutdownGraceMs,
      );
      return closing;
    },
  };
}

interface Running {
  readonly server: Server;
  readonly listener: GrpcListener;
  readonly health: HealthState;
  readonly pipeline: Pipeline;
  readonly vault: Vault;
  readonly storage: Storage;
  readonly log: Logger;
}

async function shutdown(running: Running, graceMs: number): Promise<void> {
  const { server, listener, health, pipeline, vault, storage, log } = running;
  health.close();
  log.info({ inFlight: pipeline.inFlight.size }, "shutting down");
  const stopped = listener.close();
  const drained = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  const timer = setTimeout(() => {
    log.warn({ inFlight: pipeline.inFlight.size }, "grace period over: cancelling calls in flight");
    server.forceShutdown();
  }, graceMs);
  await drained;
  clearTimeout(timer);
  await stopped;
  await Promise.allSettled([...pipeline.inFlight]);
  await vault.close();
  await storage.close();
  log.info("stopped");
}
