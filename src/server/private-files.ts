import { lstat, stat } from "node:fs/promises";

/**
 * Checks on the files and directory that hold the server's secrets: the
 * data directory (where first-start files are created), and key and token
 * files it reads. Another local user who can plant a file there could make
 * the server adopt a master key or admin token they know.
 */

/**
 * Refuses a data directory other users can write to; warns about one its
 * group can (Kubernetes `fsGroup` volumes are group-writable by design; the
 * files the server creates there are still created exclusively).
 *
 * @returns a warning to log, or undefined.
 * @throws Error saying how to fix the mode.
 * @example
 * const warning = await checkDataDir("/data");
 */
export async function checkDataDir(dir: string): Promise<string | undefined> {
  const info = await stat(dir);
  const mode = info.mode & 0o777;
  if ((mode & 0o002) !== 0) {
    throw new Error(
      `the data directory ${dir} is writable by every user (mode ${octal(mode)}): another user could plant files in it; run "chmod 700 ${dir}"`,
    );
  }
  if (typeof process.getuid === "function" && info.uid !== process.getuid()) {
    if ((mode & 0o020) === 0) return undefined;
    return `the data directory ${dir} belongs to another user and its group may write to it (mode ${octal(mode)}): fine for a Kubernetes fsGroup volume, otherwise run "chmod 700 ${dir}"`;
  }
  return (mode & 0o020) !== 0
    ? `the data directory ${dir} is writable by its group (mode ${octal(mode)}): run "chmod 700 ${dir}" unless its group is this server's alone`
    : undefined;
}

/**
 * Asserts a file the server created in its data directory is still its own:
 * a regular file (not a link), owned by this user, readable and writable by
 * no one else.
 *
 * @throws Error naming the file and what is wrong with it.
 */
export async function assertOwnPrivateFile(path: string): Promise<void> {
  const info = await lstat(path);
  if (!info.isFile()) throw new Error(`${path} is not a regular file: remove it and restart`);
  if (typeof process.getuid === "function" && info.uid !== process.getuid()) {
    throw new Error(`${path} belongs to another user (uid ${info.uid}): remove it and restart`);
  }
  if ((info.mode & 0o077) !== 0) {
    throw new Error(
      `${path} is readable or writable by other users (mode ${octal(info.mode & 0o777)}): run "chmod 600 ${path}"`,
    );
  }
}

/**
 * Asserts a secret file given by the operator (a master key mounted from a
 * secret store) is not open to other users: no access for "others" and no
 * write access for the group. Group read is allowed — it is how Kubernetes
 * `fsGroup` lets a non-root server read a mounted secret.
 *
 * @throws Error naming the file and the mode to set.
 */
export async function assertSecretFileMode(path: string, what: string): Promise<void> {
  const mode = (await stat(path)).mode & 0o777;
  if ((mode & 0o027) !== 0) {
    throw new Error(
      `${what} ${path} is open to other users (mode ${octal(mode)}): make it 0400 or 0440 (Kubernetes: defaultMode: 0440 with fsGroup)`,
    );
  }
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, "0")}`;
}
