import { join } from "node:path";
import type { Logger } from "pino";
import {
  developmentProvider,
  envProvider,
  fileProvider,
  type MasterKeyProvider,
} from "./master-key-provider.js";

/** File name of the development master key inside the data directory. */
export const DEV_MASTER_KEY_FILE = "master.key";

/** Where the master keys come from, as configured. */
export interface MasterKeySource {
  /** HEXCLAVE_MASTER_KEY as set: undefined when unset, "" when set but empty. */
  readonly masterKeyBase64: string | undefined;
  readonly masterKeyFile: string | undefined;
  /** A key stores may still be wrapped under (during a master-key rotation). */
  readonly previousMasterKeyFile: string | undefined;
  readonly dataDir: string;
  /** NODE_ENV=production: no development key. */
  readonly production: boolean;
}

/** The keys this server accepts: the current one wraps new stores. */
export interface MasterKeys {
  readonly current: Buffer;
  readonly previous: readonly Buffer[];
}

/**
 * Loads the master keys: the current one from --master-key-file /
 * HEXCLAVE_MASTER_KEY_FILE, else HEXCLAVE_MASTER_KEY, else — in development
 * only — the key in the data directory, made on first start. Refuses
 * anything doubtful rather than start on a key the data was not written
 * with: a variable set but empty, a missing, unreadable or too open file,
 * and no key at all when NODE_ENV=production.
 *
 * @throws Error naming the source and what to fix.
 * @example
 * const { current } = await loadMasterKeys(config, log);
 */
export async function loadMasterKeys(
  source: MasterKeySource,
  log: Logger,
  options: { readonly createDevelopmentKey?: boolean } = {},
): Promise<MasterKeys> {
  const current = await currentProvider(source, log, options.createDevelopmentKey ?? true);
  const previous =
    source.previousMasterKeyFile === undefined
      ? []
      : [await fileProvider(source.previousMasterKeyFile, "--previous-master-key-file").load()];
  return { current: await current.load(), previous };
}

async function currentProvider(
  source: MasterKeySource,
  log: Logger,
  createDevelopmentKey: boolean,
): Promise<MasterKeyProvider> {
  if (source.masterKeyFile !== undefined && source.masterKeyBase64 !== undefined) {
    throw new Error(
      "both HEXCLAVE_MASTER_KEY and --master-key-file / HEXCLAVE_MASTER_KEY_FILE are set: keep one (a file is safer)",
    );
  }
  if (source.masterKeyFile !== undefined) {
    if (source.masterKeyFile.trim() === "") {
      throw new Error(
        "HEXCLAVE_MASTER_KEY_FILE is set but empty: set it to the key file's path, or unset it",
      );
    }
    return fileProvider(source.masterKeyFile);
  }
  if (source.masterKeyBase64 !== undefined)
    return envProvider("HEXCLAVE_MASTER_KEY", source.masterKeyBase64);
  if (source.production) {
    throw new Error(
      "no master key: with NODE_ENV=production the server needs one, from --master-key-file / HEXCLAVE_MASTER_KEY_FILE (a mounted secret file) or HEXCLAVE_MASTER_KEY; it never makes a development key there",
    );
  }
  const path = join(source.dataDir, DEV_MASTER_KEY_FILE);
  if (!createDevelopmentKey) return fileProvider(path, "the development master key");
  const dev = developmentProvider(path);
  return {
    origin: dev.origin,
    async load() {
      const key = await dev.load();
      if (dev.created) log.warn({ path }, "generated a development master key");
      log.warn(
        { path },
        "the master key sits next to the data it protects: fine for development; in production mount it as a file (HEXCLAVE_MASTER_KEY_FILE) from a secret store",
      );
      return key;
    },
  };
}
