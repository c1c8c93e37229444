import { mkdir } from "node:fs/promises";
import type { Logger } from "pino";
import { lockDataDir } from "../storage/data-dir-lock.js";
import { openStorage } from "../storage/open-storage.js";
import { serverIdentity } from "../storage/server-registry.js";
import { openVault } from "../vault/vault.js";
import { ensureFirstAdminToken } from "./first-admin-token.js";
import { clearStaleSocket } from "./listen-address.js";
import { createLogger } from "./logger.js";
import { loadMasterKeys } from "./master-key.js";
import { checkDataDir } from "./private-files.js";
import { resolveServerConfig, type ServerFlags } from "./server-config.js";

/** What the leader of a `--workers` group holds while its workers serve. */
export interface PreparedGroup {
  readonly log: Logger;
  readonly dataDir: string;
  /**
   * Removes a Unix socket file a dead server left, once for the group
   * (undefined for a TCP listener): the workers all bind the same path, and
   * one that found the file while another's bind was half done must not
   * take it for stale and delete it.
   */
  readonly clearStaleSocket: (() => Promise<void>) | undefined;
  /** Releases the data directory (SQLite) once every worker has stopped. */
  release(): Promise<void>;
}

/**
 * The leader's part of `hexclave serve --workers N`, done once before any
 * worker starts: the settings checked, the data directory taken (SQLite:
 * the leader holds its lock for the group's life; each worker opens the file
 * as one of the group), the database migrated, the master key and the first
 * admin token made if this is a first start. Workers then only open and serve.
 *
 * @throws Error as startServer would: bad settings, a directory in use, a
 *   damaged database; an AbortError if `signal` aborts the wait for the database.
 * @example
 * const group = await prepareGroup(flags, groupId, starting.signal);
 */
export async function prepareGroup(
  flags: ServerFlags,
  groupId: string,
  signal?: AbortSignal,
): Promise<PreparedGroup> {
  const config = resolveServerConfig(flags, process.env);
  const log = createLogger(config.logLevel);
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const warning = await checkDataDir(config.dataDir);
  if (warning !== undefined) log.warn({ dataDir: config.dataDir }, warning);
  const keys = await loadMasterKeys(config, log);
  const lock = config.databaseUrl === undefined ? lockDataDir(config.dataDir) : undefined;
  try {
    const storage = await openStorage({
      dataDir: config.dataDir,
      databaseUrl: config.databaseUrl,
      poolSize: 2,
      masterKeys: [keys.current, ...keys.previous],
      server: serverIdentity(groupId),
      shared: true,
      ...(signal === undefined ? {} : { signal }),
      onRetry: (attempt, delayMs, err) =>
        log.warn({ attempt, retryInMs: delayMs, err }, "waiting for the database"),
    });
    try {
      const vault = await openVault({
        storage,
        masterKey: keys.current,
        previousMasterKeys: keys.previous,
        entryCacheBytes: 0,
      });
      if (config.adminToken === undefined) await ensureFirstAdminToken(vault, config.dataDir, log);
      await vault.close();
    } finally {
      await storage.close();
    }
  } catch (error) {
    lock?.release();
    throw error;
  }
  return {
    log,
    dataDir: config.dataDir,
    clearStaleSocket: config.listen.startsWith("unix:")
      ? () => clearStaleSocket(config.listen)
      : undefined,
    async release() {
      lock?.release();
    },
  };
}
