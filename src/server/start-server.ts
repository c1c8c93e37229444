import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Server, ServerCredentials } from "@grpc/grpc-js";
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
import { type HandlerDeps, requestIdSource } from "./call-context.js";
import { HealthState, healthHandlers } from "./health-service.js";
import { boundAddress, clearStaleSocket } from "./listen-address.js";
import { createLogger } from "./logger.js";
import { loadMasterKey } from "./master-key.js";
import { ReflectionIndex, reflectionHandler } from "./reflection-service.js";
import { resolveServerConfig, type ServerConfig, type ServerFlags } from "./server-config.js";
import { vaultServiceHandlers } from "./vault-service.js";

/** File name of the first admin token, written on first start when no token is configured. */
export const ADMIN_TOKEN_FILE = "admin.token";

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
}

/** A running server. */
export interface RunningServer {
  /** The address to dial: `host:port` with the bound port, or `unix:/path`. */
  readonly address: string;
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
  const log = options.logger ?? createLogger(config.logLevel);
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
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
  try {
    vault = await openVault({
      reads: storage.reads,
      writes: storage.writes,
      masterKey,
      bootstrapAdminToken: config.adminToken,
      entryCacheBytes: config.entryCacheMb * 1024 * 1024,
      onBackgroundError: (err, context) => log.error({ err, context }, "background task failed"),
    });
  } catch (error) {
    await storage.close();
    throw error;
  }
  const adminTokenFile =
    config.adminToken === undefined ? await writeFirstAdminToken(vault, config, log) : undefined;

  const deps: HandlerDeps = {
    authenticator: vault.authenticator,
    log,
    inFlight: new Set(),
    requestId: requestIdSource(),
  };
  const server = new Server({
    "grpc.max_receive_message_length": maxRequestMessageBytes,
    "grpc.max_send_message_length": maxResponseMessageBytes,
  });
  server.addService(VaultServiceService, vaultServiceHandlers(deps, vault.data));
  server.addService(AdminServiceService, adminServiceHandlers(deps, vault.admin));
  server.addService(HealthService, healthHandlers(health));
  const reflection = reflectionHandler(new ReflectionIndex(SERVICE_NAMES));
  server.addService(ReflectionV1, { serverReflectionInfo: reflection });
  server.addService(ReflectionV1alpha, { serverReflectionInfo: reflection });

  let port: number;
  try {
    await clearStaleSocket(config.listen);
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(config.listen, ServerCredentials.createInsecure(), (error, bound) =>
        error === null ? resolve(bound) : reject(error),
      ),
    );
  } catch (error) {
    await vault.close();
    await storage.close();
    throw new Error(`cannot listen on ${config.listen}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  health.setAll(Serving.SERVING);
  const address = boundAddress(config.listen, port);
  log.info(
    {
      address,
      dataDir: config.dataDir,
      storage: config.databaseUrl === undefined ? "sqlite" : "postgres",
    },
    "hexclave serving",
  );

  let closing: Promise<void> | undefined;
  return {
    address,
    port: config.listen.startsWith("unix:") ? undefined : port,
    adminTokenFile,
    config,
    close() {
      closing ??= shutdown(server, health, deps, vault, storage, config.shutdownGraceMs, log);
      return closing;
    },
  };
}

async function shutdown(
  server: Server,
  health: HealthState,
  deps: HandlerDeps,
  vault: Vault,
  storage: Storage,
  graceMs: number,
  log: Logger,
): Promise<void> {
  health.close();
  log.info({ inFlight: deps.inFlight.size }, "shutting down");
  const drained = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  const timer = setTimeout(() => {
    log.warn({ inFlight: deps.inFlight.size }, "grace period over: cancelling calls in flight");
    server.forceShutdown();
  }, graceMs);
  await drained;
  clearTimeout(timer);
  await Promise.allSettled([...deps.inFlight]);
  await vault.close();
  await storage.close();
  log.info("stopped");
}

async function writeFirstAdminToken(
  vault: Vault,
  config: ServerConfig,
  log: Logger,
): Promise<string | undefined> {
  const token = await vault.createFirstAdminToken();
  if (token === undefined) return undefined;
  const path = join(config.dataDir, ADMIN_TOKEN_FILE);
  await writeFile(path, `${token}\n`, { mode: 0o600 });
  log.warn(
    { path },
    "created the first admin token: it is in this file, readable only by this user; use it to create stores and other tokens, then store it safely",
  );
  return path;
}
