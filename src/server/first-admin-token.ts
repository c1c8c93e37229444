import { open, readFile, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Logger } from "pino";
import { newAccessToken, parseAccessToken } from "../vault/access-token.js";
import type { Vault } from "../vault/vault.js";
import { assertOwnPrivateFile } from "./private-files.js";

/** File name of the first admin token, written on first start when no token is configured. */
export const ADMIN_TOKEN_FILE = "admin.token";

/**
 * Makes sure a vault without any token gets a first admin token that its
 * operator can find: `<data-dir>/admin.token`, mode 0600.
 *
 * The file is written (exclusively, and synced) before the token is stored,
 * so a crash in between leaves a file whose token is not yet valid, never a
 * valid token nobody has. The next start finds the file and finishes the
 * job with that token. "Exclusively" means a file someone else put there is
 * never written into; one that is not this user's own private file is
 * refused rather than adopted.
 *
 * @returns the file's path if this start created or adopted the token.
 * @throws Error if an existing admin.token is not this server's own file.
 * @example
 * const path = await ensureFirstAdminToken(vault, "/data", log);
 */
export async function ensureFirstAdminToken(
  vault: Vault,
  dataDir: string,
  log: Logger,
): Promise<string | undefined> {
  if (await vault.hasTokens()) return undefined;
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  const left = await readInterrupted(path);
  const token = left ?? newAccessToken().token;
  if (left === undefined) await writeExclusively(path, `${token}\n`);
  if (!(await vault.adoptFirstAdminToken(token))) {
    // Another server on the same database stored its first token first.
    if (left === undefined) await unlink(path);
    return undefined;
  }
  log.warn(
    { path },
    left === undefined
      ? "created the first admin token: it is in this file, readable only by this user; use it to create stores and other tokens, then store it safely"
      : "finished a first start that was interrupted: the admin token in this file is now valid",
  );
  return path;
}

/** The token a first start wrote before it was interrupted, if the file is there. */
async function readInterrupted(path: string): Promise<string | undefined> {
  let text: string;
  try {
    await assertOwnPrivateFile(path);
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const token = text.trim();
  if (parseAccessToken(token) === undefined) {
    throw new Error(
      `${path} does not hold an access token and the vault has none yet: remove the file and restart to make a new one`,
    );
  }
  return token;
}

/** Creates `path` (failing if anything is there, even a link), writes, syncs it and its directory. */
async function writeExclusively(path: string, content: string): Promise<void> {
  const file = await open(path, "wx", 0o600);
  try {
    await file.writeFile(content);
    await file.sync();
  } finally {
    await file.close();
  }
  const dir = await open(dirname(path), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
