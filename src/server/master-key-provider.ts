import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { assertOwnPrivateFile, assertSecretFileMode } from "./private-files.js";

/**
 * Where a master key comes from. The server asks its provider once, at
 * start, and holds the key in memory; nothing else in the server knows where
 * it came from. The providers here read a file (a Docker or Kubernetes secret
 * mounted as a file: the recommended way), an environment variable, or the
 * development key in the data directory.
 *
 * A cloud KMS plugs in here: a provider whose load() reads a data key sealed
 * by the KMS (from a file or the database) and asks the KMS to decrypt it —
 * AWS KMS Decrypt, GCP Cloud KMS decrypt, Azure Key Vault unwrapKey — so the
 * plaintext master key exists only in the server's memory and access to it
 * is the KMS's to grant, audit and revoke. Nothing outside this file changes.
 *
 * @example
 * const key = await fileProvider("/run/secrets/hexclave-master-key").load();
 */
export interface MasterKeyProvider {
  /** Where the key comes from, for messages (never the key). */
  readonly origin: string;
  /**
   * @returns the 32-byte master key.
   * @throws Error saying what is wrong with the source and how to fix it.
   */
  load(): Promise<Buffer>;
}

const KEY_BYTES = 32;

/**
 * A key in a file: 32 raw bytes, or their base64 (a trailing newline is
 * fine). The file must not be open to other users.
 */
export function fileProvider(path: string, flag = "--master-key-file"): MasterKeyProvider {
  const origin = `${flag} ${path}`;
  return {
    origin,
    async load() {
      let content: Buffer;
      try {
        await assertSecretFileMode(path, flag);
        content = await readFile(path);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT")
          throw new Error(`${origin} does not exist: mount the master key there, or fix the path`);
        if (code === "EACCES")
          throw new Error(
            `${origin} is not readable by this user (uid ${process.getuid?.()}): fix its owner or group`,
          );
        throw error;
      }
      return parseKey(content, origin, true);
    },
  };
}

/** A key as base64 in an environment variable (shows in `docker inspect`; prefer a file). */
export function envProvider(name: string, value: string): MasterKeyProvider {
  return {
    origin: name,
    async load() {
      if (value.trim() === "") {
        throw new Error(
          `${name} is set but empty (a secret that did not resolve?): set it to a base64 master key, or unset it and use HEXCLAVE_MASTER_KEY_FILE`,
        );
      }
      // Base64 only: 32 characters of base64 (a 24-byte key) must not pass as 32 raw bytes.
      return parseKey(Buffer.from(value, "utf8"), name, false);
    },
  };
}

/**
 * Development only: a key generated into the data directory on first start
 * (exclusively, 0600) and read back after. It sits next to the data it
 * protects, so anyone who copies the directory has both.
 */
export function developmentProvider(path: string): MasterKeyProvider & { created: boolean } {
  const provider = {
    origin: path,
    created: false,
    async load(): Promise<Buffer> {
      try {
        await assertOwnPrivateFile(path);
        return parseKey(await readFile(path), path, true);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
      const key = randomBytes(KEY_BYTES);
      // "wx": never overwrite a key another process just made; losing it loses every store.
      await writeFile(path, `${key.toString("base64")}\n`, { mode: 0o600, flag: "wx" });
      provider.created = true;
      return key;
    },
  };
  return provider;
}

function parseKey(content: Buffer, origin: string, rawAllowed: boolean): Buffer {
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
