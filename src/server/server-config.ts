import { isPrivateAddress } from "./listen-address.js";

/**
 * A setting that cannot be used, with what to fix. The CLI prints its
 * message as it is; nothing else is known about it.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** The server's settings, resolved once from flags, then environment, then defaults, and frozen. */
export interface ServerConfig {
  /** `host:port` (port 0 picks a free one) or `unix:/absolute/path`. */
  readonly listen: string;
  /** Holds the SQLite database and, in development, the master key and first admin token. */
  readonly dataDir: string;
  /** `postgres://…`, or undefined for the embedded SQLite database. */
  readonly databaseUrl: string | undefined;
  /** PostgreSQL connections per server process, at most. */
  readonly databasePoolSize: number;
  /** A file holding the master key (32 raw bytes or their base64). */
  readonly masterKeyFile: string | undefined;
  /** The master key as base64 (HEXCLAVE_MASTER_KEY): undefined when unset, "" when set but empty. */
  readonly masterKeyBase64: string | undefined;
  /** A master key stores may still be wrapped under while a rotation runs. */
  readonly previousMasterKeyFile: string | undefined;
  /** NODE_ENV=production: the server refuses to make a development master key. */
  readonly production: boolean;
  /** An operator-given admin token (HEXCLAVE_ADMIN_TOKEN), at least 32 characters. */
  readonly adminToken: string | undefined;
  /** pino level: fatal, error, warn, info, debug, trace or silent. */
  readonly logLevel: string;
  /** Megabytes of recently used entries (client-sealed envelopes) kept in memory; 0 disables. */
  readonly entryCacheMb: number;
  /** How long shutdown waits for calls in flight before cancelling them. */
  readonly shutdownGraceMs: number;
  /** The server's TLS certificate and key (PEM files); undefined: plaintext. */
  readonly tls: TlsFiles | undefined;
  /** Plaintext on a non-loopback address, knowingly (--insecure-plaintext). */
  readonly insecurePlaintext: boolean;
  /** The HTTP listener for /metrics, /healthz, /readyz and the dashboard; undefined: off. */
  readonly httpListen: string | undefined;
  /** Serve the dashboard on the HTTP listener. */
  readonly dashboard: boolean;
  /** Label metrics with store ids (an operator's choice: ids are names, and cardinality grows with stores). */
  readonly metricsStoreLabels: boolean;
  /** Record every call in the audit log (default); off only to measure its cost. */
  readonly audit: boolean;
  /** Also write each audit record as a JSON line on stdout, for log shippers. */
  readonly auditStdout: boolean;
  /** Audit records older than this are pruned (ms); undefined: kept forever. */
  readonly auditRetentionMs: number | undefined;
}

/** TLS material, as files the server re-reads when they change. */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** Client certificates must be signed by this CA (mTLS); undefined: no client certificates. */
  readonly clientCaFile: string | undefined;
}

/** Flags as the CLI parsed them; each overrides its environment variable. */
export interface ServerFlags {
  readonly listen?: string | undefined;
  readonly dataDir?: string | undefined;
  readonly databaseUrl?: string | undefined;
  readonly databasePoolSize?: string | undefined;
  readonly masterKeyFile?: string | undefined;
  readonly previousMasterKeyFile?: string | undefined;
  readonly logLevel?: string | undefined;
  readonly cacheMb?: string | undefined;
  readonly tlsCert?: string | undefined;
  readonly tlsKey?: string | undefined;
  readonly tlsClientCa?: string | undefined;
  readonly insecurePlaintext?: boolean | undefined;
  readonly httpListen?: string | undefined;
  readonly dashboard?: boolean | undefined;
  readonly metricsStoreLabels?: boolean | undefined;
  readonly audit?: string | undefined;
  readonly auditStdout?: boolean | undefined;
  readonly auditRetention?: string | undefined;
}

/** Defaults (README.md, "Configuration"). */
export const DEFAULT_LISTEN = "127.0.0.1:50051";
export const DEFAULT_DATA_DIR = "./.hexclave";
export const DEFAULT_CACHE_MB = 32;
export const DEFAULT_DATABASE_POOL_SIZE = 10;
const LOG_LEVELS = new Set(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

/**
 * Resolves the server's configuration: flag, then environment, then default.
 *
 * @throws ConfigError naming the setting and what to fix.
 * @example
 * const config = resolveServerConfig({ listen: "127.0.0.1:0" }, process.env);
 */
export function resolveServerConfig(flags: ServerFlags, env: NodeJS.ProcessEnv): ServerConfig {
  const pick = (flag: string | undefined, name: string): string | undefined => {
    const value = flag ?? env[name];
    return value === undefined || value === "" ? undefined : value;
  };
  const yes = (flag: boolean | undefined, name: string): boolean =>
    flag ?? ["1", "true", "yes", "on"].includes((env[name] ?? "").toLowerCase());
  const listen = pick(flags.listen, "HEXCLAVE_LISTEN") ?? DEFAULT_LISTEN;
  assertListen(listen, "--listen / HEXCLAVE_LISTEN");
  const httpListen = pick(flags.httpListen, "HEXCLAVE_HTTP_LISTEN");
  if (httpListen !== undefined) assertListen(httpListen, "--http-listen / HEXCLAVE_HTTP_LISTEN");
  const tls = tlsFiles(
    pick(flags.tlsCert, "HEXCLAVE_TLS_SERVER_CERT"),
    pick(flags.tlsKey, "HEXCLAVE_TLS_SERVER_KEY"),
    pick(flags.tlsClientCa, "HEXCLAVE_TLS_CLIENT_CA"),
  );
  const insecurePlaintext = yes(flags.insecurePlaintext, "HEXCLAVE_INSECURE_PLAINTEXT");
  if (tls === undefined && !insecurePlaintext) {
    for (const [address, what] of [
      [listen, "--listen"],
      [httpListen, "--http-listen"],
    ] as const) {
      if (address !== undefined && !isPrivateAddress(address)) {
        throw invalid(
          `refusing to serve ${what} ${address} in plaintext: tokens would cross the network readable; give --tls-cert and --tls-key (HEXCLAVE_TLS_SERVER_CERT, HEXCLAVE_TLS_SERVER_KEY), listen on loopback or a Unix socket, or pass --insecure-plaintext if a trusted network layer (a service mesh) encrypts it`,
        );
      }
    }
  }
  const dashboard = yes(flags.dashboard, "HEXCLAVE_DASHBOARD");
  if (dashboard && httpListen === undefined) {
    throw invalid(
      "--dashboard needs --http-listen (HEXCLAVE_HTTP_LISTEN): the address to serve it on",
    );
  }
  const auditText = (pick(flags.audit, "HEXCLAVE_AUDIT") ?? "on").toLowerCase();
  if (auditText !== "on" && auditText !== "off") {
    throw invalid(`--audit / HEXCLAVE_AUDIT must be "on" or "off", got "${auditText}"`);
  }
  const retentionText = pick(flags.auditRetention, "HEXCLAVE_AUDIT_RETENTION");
  const auditRetentionMs =
    retentionText === undefined
      ? undefined
      : parseDuration(retentionText, "--audit-retention / HEXCLAVE_AUDIT_RETENTION");
  const databaseUrl = pick(flags.databaseUrl, "HEXCLAVE_DATABASE_URL");
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw invalid(
      "--database-url / HEXCLAVE_DATABASE_URL must start with postgres:// (unset it to use SQLite)",
    );
  }
  const poolText = pick(flags.databasePoolSize, "HEXCLAVE_DATABASE_POOL_SIZE");
  const databasePoolSize = poolText === undefined ? DEFAULT_DATABASE_POOL_SIZE : Number(poolText);
  if (!/^\d+$/.test(poolText ?? "1") || databasePoolSize < 1 || databasePoolSize > 1000) {
    throw invalid(
      `--database-pool-size / HEXCLAVE_DATABASE_POOL_SIZE must be a whole number from 1 to 1000, got "${poolText}"`,
    );
  }
  const adminToken = pick(undefined, "HEXCLAVE_ADMIN_TOKEN");
  if (adminToken !== undefined && adminToken.length < 32) {
    throw invalid(
      "HEXCLAVE_ADMIN_TOKEN must be at least 32 characters (e.g. `openssl rand -base64 32`)",
    );
  }
  const logLevel = pick(flags.logLevel, "HEXCLAVE_LOG_LEVEL") ?? "info";
  if (!LOG_LEVELS.has(logLevel)) {
    throw invalid(
      `--log-level / HEXCLAVE_LOG_LEVEL must be one of ${[...LOG_LEVELS].join(", ")}, got "${logLevel}"`,
    );
  }
  const cacheText = pick(flags.cacheMb, "HEXCLAVE_CACHE_MB");
  const entryCacheMb = cacheText === undefined ? DEFAULT_CACHE_MB : Number(cacheText);
  if (!/^\d+$/.test(cacheText ?? "0") || entryCacheMb > 65536) {
    throw invalid(
      `--cache-mb / HEXCLAVE_CACHE_MB must be a whole number of megabytes (0 to 65536), got "${cacheText}"`,
    );
  }
  return Object.freeze({
    listen,
    dataDir: pick(flags.dataDir, "HEXCLAVE_DATA_DIR") ?? DEFAULT_DATA_DIR,
    databaseUrl,
    databasePoolSize,
    // Set-but-empty is kept as "": a secret that did not resolve must not mean "no key".
    masterKeyFile: flags.masterKeyFile ?? env.HEXCLAVE_MASTER_KEY_FILE,
    masterKeyBase64: env.HEXCLAVE_MASTER_KEY,
    previousMasterKeyFile: pick(flags.previousMasterKeyFile, "HEXCLAVE_PREVIOUS_MASTER_KEY_FILE"),
    production: env.NODE_ENV === "production",
    adminToken,
    logLevel,
    entryCacheMb,
    shutdownGraceMs: 10_000,
    tls,
    insecurePlaintext,
    httpListen,
    dashboard,
    metricsStoreLabels: yes(flags.metricsStoreLabels, "HEXCLAVE_METRICS_STORE_LABELS"),
    audit: auditText === "on",
    auditStdout: yes(flags.auditStdout, "HEXCLAVE_AUDIT_STDOUT"),
    auditRetentionMs,
  });
}

function tlsFiles(
  certFile: string | undefined,
  keyFile: string | undefined,
  clientCaFile: string | undefined,
): TlsFiles | undefined {
  if (certFile === undefined && keyFile === undefined) {
    if (clientCaFile !== undefined) {
      throw invalid("--tls-client-ca needs --tls-cert and --tls-key: mTLS runs over TLS");
    }
    return undefined;
  }
  if (certFile === undefined || keyFile === undefined) {
    throw invalid(
      "give both --tls-cert and --tls-key (HEXCLAVE_TLS_SERVER_CERT, HEXCLAVE_TLS_SERVER_KEY), or neither",
    );
  }
  return Object.freeze({ certFile, keyFile, clientCaFile });
}

/**
 * A duration like "90d", "12h", "30m", "45s" in milliseconds.
 *
 * @throws ConfigError naming the setting.
 */
export function parseDuration(text: string, setting: string): number {
  const match = /^(\d+)\s*(d|h|m|s)$/.exec(text.trim());
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 } as const;
  if (match === null || Number(match[1]) === 0) {
    throw invalid(`${setting} must be a duration like 90d, 12h, 30m or 45s, got "${text}"`);
  }
  return Number(match[1]) * unit[match[2] as keyof typeof unit];
}

function assertListen(listen: string, setting: string): void {
  if (listen.startsWith("unix:")) {
    if (!listen.startsWith("unix:/")) {
      throw invalid(
        `${setting}: a Unix socket needs an absolute path ("unix:/run/hexclave.sock"), got "${listen}"`,
      );
    }
    return;
  }
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(listen);
  if (match === null || Number(match[2]) > 65535) {
    throw invalid(`${setting} must be host:port or unix:/path, got "${listen}"`);
  }
}

function invalid(message: string): ConfigError {
  return new ConfigError(message);
}
