import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { masterKeyId } from "../../../src/crypto/at-rest.js";

/** A master key in a file, as an operator mounts one. */
export interface MasterKeyFile {
  readonly key: Buffer;
  readonly file: string;
  /** Its public id, hex. */
  readonly id: string;
}

/**
 * Writes a new random master key (base64, mode 0400) into `dir`.
 *
 * @example
 * const old = await newMasterKeyFile(dir, "old.key");
 */
export async function newMasterKeyFile(dir: string, name: string): Promise<MasterKeyFile> {
  const key = randomBytes(32);
  const file = join(dir, name);
  await writeFile(file, `${key.toString("base64")}\n`, { mode: 0o400 });
  return { key, file, id: masterKeyId(key).toString("hex") };
}
