import { mkdir } from "node:fs/promises";
import type { Server } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { HealthCheckResponse_ServingStatus as Serving } from "../../gen/grpc/health/v1/health.js";
import type { GroupCommitOptions } from "../storage/group-commit.js";
import { openStorage } from "../storage/open-storage.js";
import { type ServerIdentity, serverIdentity } from "../storage/server-registry.js";
import type { Storage } from "../vault/storage-port.js";
import { openVault, type Vault } from "../vault/vault.js";
import { auditSink } from "./audit-sink.js";
import { callLog } from "./call-log.js";
import type { CallObserver } from "./call-record.js";
import { dashboardRoutes } from "./dashboard/dashboard-routes.js";
import { ADMIN_TOKEN_FILE, ensureFirstAdminToken } from "./first-admin-token.js";
import { routeGrpcJsLog } from "./grpc-js-log.js";
import { type GrpcListener, listenGrpc } from "./grpc-listener.js";
import type { Pipeline } from "./grpc-method.js";
import {
  AUDITED_WRITES,
  createGrpcServer,
  HEXCLAVE_METHOD_PATHS,
  SERVICE_NAMES,
} from "./grpc-server.js";
import { HealthState } from "./health-service.js";
import { serveHttpEndpoints } from "./http/http-endpoints.js";
import type { HttpListener } from "./http/http-listener.js";
import { type Auditor, auditCalls } from "./interceptors/audit-calls.js";
import { authenticate } from "./interceptors/authenticate.js";
import { limitStreams } from "./interceptors/limit-streams.js";
import { observeCalls } from "./interceptors/observe-calls.js";
import { refuseExpired } from "./interceptors/refuse-expired.js";
import { requireClientCertificate } from "./interceptors/require-client-certificate.js";
import { requireVault } from "./interceptors/require-vault.js";
import { dialAddress, isPrivateAddress } from "./listen-address.js";
import { createLogger } from "./logger.js";
import { loadMasterKeys } from "./master-key.js";
import { type ServerMetrics, serverMetrics } from "./metrics/server-metrics.js";
import { checkDataDir } from "./private-files.js";
import { requestIdSource } from "./request-id.js";
import { resolveServerConfig, type ServerConfig, type ServerFlags } from "./server-config.js";
import { followStorage, WRITES_HEALTH } from "./storage-health.js";
import { loadServerTls, type ServerTls } from "./tls-context.js";
import { DEFAULT_TRANSPORT_LIMITS, type TransportLimits } from "./transport-limits.js";

export { ADMIN_TOKEN_FILE };

/** Options for {@link startServer}; unset ones come from the environment, then defaults. */
export interface StartServerOptions extends ServerFlags {
  /** Environment to read HEXCLAVE_* settings from. Default: process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** A logger to use instead of JSON lines on stdout. */
  readonly logger?: Logger;
  /** Group-commit tuning (batch size, queue bound). */
  readonly writes?: GroupCommitOptions;
  /** How often expired entries are swept. Default 5 s. */
  readonly sweepIntervalMs?: number;
  /** How long shutdown waits for calls in flight. Default 10 s. */
  readonly shutdownGraceMs?: number;
  /** What one client may make the transport hold; see TransportLimits. */
  readonly transportLimits?: Partial<TransportLimits>;
  /**
   * This process is one of a `--workers` group on one SQLite file (the
   * group's leader holds the data directory): set by `hexclave serve`.
   */
  readonly workerOf?: string;
  /** Stops a start that is still waiting for its database (SIGTERM during start-up). */
  readonly signal?: AbortSignal;
}

/** A running server. */
export interface RunningServer {
  /** The address to dial: `host:port` with the bound port, or `unix:/path`. */
  readonly address: string;
  /** What is actually bound, e.g. `0.0.0.0:50051`. */
  readonly boundAddress: string;
  /** The bound TCP port; undefined on a Unix socket. */
  readonly port: number | undefined;
  /** What the HTTP listener (`--http-listen`) bound, if it runs. */
  readonly httpAddress: string | undefined;
  /** Where the first admin token was written, if this start made one. */
  readonly adminTokenFile: string | undefined;
  readonly config: ServerConfig;
  /** This process as the database's server registry knows it. */
  readonly identity: ServerIdentity;
  /**
   * Graceful stop: reports NOT_SERVING, stops accepting calls, lets calls in
   * flight finish within the grace period (then cancels them), commits queued
   * writes, and closes the database.
   */
  close(): Promise<void>;
}

/**
 * Starts the Hexclave gRPC server. The listener comes up first, answering
 * health NOT_SERVING (and every call UNAVAILABLE) while the server opens its
 * database — PostgreSQL may take a while to be reachable; the server retries
 * with backoff and says so in the log — then it serves.
 *
 * @throws Error if the configuration is invalid, the master key does not
 *   match the data, the database is damaged or in use, or the address
 *   cannot be bound.
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
  const masterKeys = await loadMasterKeys(config, log);
  const identity = serverIdentity(options.workerOf);
  const health = new HealthState([...SERVICE_NAMES, WRITES_HEALTH]);
  warnIfPlaintext(config, log);
  if (!config.audit) {
    log.warn("the audit log is off (--audit off): calls are not recorded");
  }
  const tls = config.tls === undefined ? undefined : await loadServerTls(config.tls, log);

  let vault: Vault | undefined;
  let storage: Storage | undefined;
  let auditor: Auditor | undefined;
  // False once only a restart can help (the writer thread died): /healthz then fails.
  let recoverable = true;
  const openVaultOrThrow = (): Vault => {
    if (vault === undefined) throw new Error("the vault is not open");
    return vault;
  };
  const requestId = requestIdSource();
  let inFlight = (): number => 0;
  const metrics =
    config.httpListen === undefined
      ? undefined
      : serverMetrics({
          storage: () => storage,
          vault: () => vault,
          inFlight: () => inFlight(),
          health,
          storageKind: config.databaseUrl === undefined ? "sqlite" : "postgres",
          knownMethods: HEXCLAVE_METHOD_PATHS,
          storeLabels: config.metricsStoreLabels,
        });
  const observe = observeAll(callLog(log), metrics?.observe);
  const { server, pipeline } = createGrpcServer({
    vault: openVaultOrThrow,
    // The order is the design: docs/architecture.md, "The call pipeline".
    interceptors: [
      observeCalls(observe),
      refuseExpired(),
      ...(config.audit ? [auditCalls(() => auditor, AUDITED_WRITES)] : []),
      ...(tls?.mutual === true ? [requireClientCertificate()] : []),
      requireVault(() => vault !== undefined),
      authenticate({
        authenticate: (header) => openVaultOrThrow().authenticator.authenticate(header),
      }),
      limitStreams(),
    ],
    requestId,
    observe,
    health,
    limits,
  });
  inFlight = () => pipeline.inFlight.size;
  const listener = await listenGrpc(server, {
    listen: config.listen,
    maxConnections: limits.maxConnections,
    tls,
  }).catch((error: unknown) => {
    server.forceShutdown();
    tls?.close();
    throw error;
  });

  let http: HttpListener | undefined;
  let adminTokenFile: string | undefined;
  try {
    http = await startHttp(config, metrics, {
      tls,
      log,
      requestId,
      inGroup: options.workerOf !== undefined,
      probes: { health, condition: () => storage?.condition, recoverable: () => recoverable },
      // The dashboard (--dashboard): docs/dashboard.md.
      routes:
        config.dashboard && metrics !== undefined
          ? dashboardRoutes({
              vault: () => vault,
              storage: () => storage,
              auditor: () => auditor,
              registry: metrics.registry,
              log,
              server: {
                health,
                condition: () => storage?.condition,
                storageKind: config.databaseUrl === undefined ? "sqlite" : "postgres",
                grpcAddress: dialAddress(listener.boundAddress),
                tls: tls !== undefined,
                audit: config.audit,
                serverId: identity.id,
                groupId: identity.groupId,
                inGroup: options.workerOf !== undefined,
                startedAt: Date.now(),
              },
            })
          : [],
    });
    storage = await openStorage({
      dataDir: config.dataDir,
      databaseUrl: config.databaseUrl,
      poolSize: config.databasePoolSize,
      masterKeys: [masterKeys.current, ...masterKeys.previous],
      server: identity,
      shared: options.workerOf !== undefined,
      ...(options.writes === undefined ? {} : { writes: options.writes }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      onRetry: (attempt, delayMs, err) =>
        log.warn({ attempt, retryInMs: delayMs, err }, "waiting for the database"),
      onWriterFailure: (err) => {
        // Nothing can be written any more: stop taking traffic, keep answering why.
        log.fatal({ err }, "the writer thread failed: writes fail until the server is restarted");
        recoverable = false;
        health.setAll(Serving.NOT_SERVING);
      },
    });
    vault = await openVault({
      storage,
      masterKey: masterKeys.current,
      previousMasterKeys: masterKeys.previous,
      bootstrapAdminToken: config.adminToken,
      entryCacheBytes: config.entryCacheMb * 1024 * 1024,
      auditRetentionMs: config.auditRetentionMs,
      ...(options.sweepIntervalMs === undefined
        ? {}
        : { sweepIntervalMs: options.sweepIntervalMs }),
      onBackgroundError: (err, context) => log.error({ err, context }, "background task failed"),
    });
    auditor = auditSink(storage, { stdout: config.auditStdout });
    if (config.adminToken === undefined && options.workerOf === undefined) {
      adminTokenFile = await ensureFirstAdminToken(vault, config.dataDir, log);
    }
  } catch (error) {
    server.forceShutdown();
    await listener.close();
    await http?.close();
    tls?.close();
    await vault?.close();
    await storage?.close();
    throw error;
  }
  const openedStorage = storage;
  const stopMetrics = metrics?.followStorage(openedStorage);
  const stopFollowing = followStorage(openedStorage, health, log, { audit: config.audit });
  if (openedStorage.condition === "ok") health.setAll(Serving.SERVING);
  log.info(
    {
      address: listener.boundAddress,
      dataDir: config.dataDir,
      storage: config.databaseUrl === undefined ? "sqlite" : "postgres",
      tls: tls === undefined ? "off" : tls.mutual ? "mutual" : "on",
      ...(http === undefined ? {} : { http: http.boundAddress }),
      server: identity.id,
    },
    // A worker's line; its group's leader says "hexclave serving" once all are up.
    options.workerOf === undefined ? "hexclave serving" : "worker serving",
  );

  let closing: Promise<void> | undefined;
  const opened = vault;
  return {
    address: dialAddress(listener.boundAddress),
    boundAddress: listener.boundAddress,
    port: listener.port,
    httpAddress: http?.boundAddress,
    adminTokenFile,
    config,
    identity,
    close() {
      closing ??= shutdown(
        {
          server,
          listener,
          http,
          health,
          pipeline,
          vault: opened,
          storage: openedStorage,
          log,
          tls,
        },
        config.shutdownGraceMs,
      ).finally(() => {
        stopFollowing();
        stopMetrics?.();
      });
      return closing;
    },
  };
}

interface Running {
  readonly server: Server;
  readonly listener: GrpcListener;
  readonly http: HttpListener | undefined;
  readonly health: HealthState;
  readonly pipeline: Pipeline;
  readonly vault: Vault;
  readonly storage: Storage;
  readonly log: Logger;
  readonly tls: ServerTls | undefined;
}

async function shutdown(running: Running, graceMs: number): Promise<void> {
  const { server, listener, http, health, pipeline, vault, storage, log, tls } = running;
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
  // Probes kept answering "not ready" through the drain; now the HTTP listener goes too.
  await http?.close();
  tls?.close();
  await vault.close();
  await storage.close();
  log.info("stopped");
}

/** Says, on every start, that a listener off loopback runs in plaintext by the operator's choice. */
function warnIfPlaintext(config: ServerConfig, log: Logger): void {
  if (config.tls !== undefined) return;
  for (const address of [config.listen, config.httpListen]) {
    if (address !== undefined && !isPrivateAddress(address)) {
      log.warn(
        { address },
        "serving in plaintext off loopback (--insecure-plaintext): tokens cross the network unencrypted unless a trusted layer (a service mesh) encrypts them",
      );
    }
  }
}

/** Calls each observer in turn. */
function observeAll(...observers: (CallObserver | undefined)[]): CallObserver {
  const present = observers.filter((o): o is CallObserver => o !== undefined);
  return (record) => {
    for (const observe of present) observe(record);
  };
}

/** Starts the HTTP listener if `--http-listen` asks for one. */
function startHttp(
  config: ServerConfig,
  metrics: ServerMetrics | undefined,
  parts: Omit<Parameters<typeof serveHttpEndpoints>[0], "listen" | "metrics">,
): Promise<HttpListener | undefined> {
  if (config.httpListen === undefined || metrics === undefined) return Promise.resolve(undefined);
  return serveHttpEndpoints({ ...parts, listen: config.httpListen, metrics });
}
