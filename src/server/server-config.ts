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
}

/** Defaults from DESIGN.md section 2. */
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
  const listen = pick(flags.listen, "HEXCLAVE_LISTEN") ?? DEFAULT_LISTEN;
  assertListen(listen);
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
  });
}

function assertListen(listen: string): void {
  if (listen.startsWith("unix:")) {
    if (!listen.startsWith("unix:/")) {
      throw invalid(
        `--listen / HEXCLAVE_LISTEN: a Unix socket needs an absolute path ("unix:/run/hexclave.sock"), got "${listen}"`,
      );
    }
    return;
  }
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(listen);
  if (match === null || Number(match[2]) > 65535) {
    throw invalid(`--listen / HEXCLAVE_LISTEN must be host:port or unix:/path, got "${listen}"`);
  }
}

function invalid(message: string): ConfigError {
  return new ConfigError(message);
}
