import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";

/** File name of the development master key inside the data directory. */
export const DEV_MASTER_KEY_FILE = "master.key";
const KEY_BYTES = 32;

/** Where the master key comes from. */
export interface MasterKeySource {
  readonly masterKeyBase64: string | undefined;
  readonly masterKeyFile: string | undefined;
  readonly dataDir: string;
}

/**
 * Loads the master key: from a file if one is named, else from
 * HEXCLAVE_MASTER_KEY, else (development) from the data directory, making it
 * on first start. The last case logs a warning every start: a key next to the
 * data it protects protects nothing against someone who copies the directory.
 *
 * @throws Error naming the source and what a valid key looks like.
 * @example
 * const key = await loadMasterKey({ masterKeyBase64: process.env.HEXCLAVE_MASTER_KEY, masterKeyFile: undefined, dataDir }, log);
 */
export async function loadMasterKey(source: MasterKeySource, log: Logger): Promise<Buffer> {
  if (source.masterKeyFile !== undefined) {
    return parseKey(
      await readFile(source.masterKeyFile),
      `--master-key-file ${source.masterKeyFile}`,
    );
  }
  if (source.masterKeyBase64 !== undefined) {
    // Base64 only: 32 characters of base64 (a 24-byte key) must not pass as 32 raw bytes.
    return parseKey(Buffer.from(source.masterKeyBase64, "utf8"), "HEXCLAVE_MASTER_KEY", false);
  }
  const path = join(source.dataDir, DEV_MASTER_KEY_FILE);
  let key: Buffer;
  try {
    key = parseKey(await readFile(path), path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    key = randomBytes(KEY_BYTES);
    // "wx": never overwrite a key another process just made; losing it loses every store.
    await writeFile(path, `${key.toString("base64")}\n`, { mode: 0o600, flag: "wx" });
    log.warn({ path }, "generated a development master key");
  }
  log.warn(
    { path },
    "the master key sits next to the data it protects: fine for development; in production set HEXCLAVE_MASTER_KEY or --master-key-file from a secret store",
  );
  return key;
}

function parseKey(content: Buffer, origin: string, rawAllowed = true): Buffer {
  if (rawAllowed && content.length === KEY_BYTES) return Buffer.from(content);
  const text = content.toString("utf8").trim();
  const decoded = /^[A-Za-z0-9+/_-]+={0,2}$/.test(text)
    ? Buffer.from(text, "base64")
    : Buffer.alloc(0);
  if (decoded.length !== KEY_BYTES) {
    throw new Error(
      `${origin} must hold a 32-byte master key as base64 (make one with \`openssl rand -base64 32\`), got ${decoded.length} bytes`,
    );
  }
  return decoded;
}
