import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

/**
 * Where the test suite finds a PostgreSQL server to start, and how it runs
 * the server's tools: initdb refuses to run as root, so as root every tool
 * runs as the `postgres` OS user (Debian's package creates it).
 */

const execFileAsync = promisify(execFile);

/** Debian's layout: one directory per major version. */
export const DEBIAN_POSTGRES_ROOT = "/usr/lib/postgresql";

/** Says where binaries were looked for, for the skip banner and error messages. */
export const WHERE_POSTGRES_IS_LOOKED_FOR = `PG_BIN, else the newest ${DEBIAN_POSTGRES_ROOT}/<major>/bin (apt-get install postgresql)`;

/** A PostgreSQL installation the tests can start clusters from. */
export interface PostgresBinaries {
  /** Directory holding initdb, pg_ctl and postgres. */
  readonly binDir: string;
  /** `postgres --version` output, e.g. "postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)". */
  readonly version: string;
  /** The OS user tools run as: `postgres` when this process is root, else undefined (ourselves). */
  readonly osUser:
    | { readonly name: string; readonly uid: number; readonly gid: number }
    | undefined;
}

/**
 * Finds PostgreSQL server binaries: `PG_BIN` if set, else the newest major
 * version under /usr/lib/postgresql. Undefined when there are none.
 *
 * @throws Error if `PG_BIN` is set but holds no initdb (a typo must not
 *   silently skip the PostgreSQL tests), or if running as root and there is
 *   no `postgres` OS user to run them as.
 * @example
 * const pg = await findPostgresBinaries();
 * if (pg === undefined) console.warn(`no PostgreSQL: looked in ${WHERE_POSTGRES_IS_LOOKED_FOR}`);
 */
export async function findPostgresBinaries(
  env: NodeJS.ProcessEnv = process.env,
): Promise<PostgresBinaries | undefined> {
  const binDir = env.PG_BIN === undefined || env.PG_BIN === "" ? newestDebianBinDir() : env.PG_BIN;
  if (binDir === undefined) return undefined;
  if (!existsSync(join(binDir, "initdb"))) {
    throw new Error(`PG_BIN=${binDir} holds no initdb: point it at PostgreSQL's bin directory`);
  }
  const osUser = process.getuid?.() === 0 ? await postgresOsUser() : undefined;
  const { stdout } = await execFileAsync(join(binDir, "postgres"), ["--version"]);
  return Object.freeze({ binDir, version: stdout.trim(), osUser });
}

function newestDebianBinDir(): string | undefined {
  if (!existsSync(DEBIAN_POSTGRES_ROOT)) return undefined;
  const majors = readdirSync(DEBIAN_POSTGRES_ROOT)
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => existsSync(join(DEBIAN_POSTGRES_ROOT, name, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] === undefined ? undefined : join(DEBIAN_POSTGRES_ROOT, majors[0], "bin");
}

async function postgresOsUser(): Promise<NonNullable<PostgresBinaries["osUser"]>> {
  try {
    const [uid, gid] = await Promise.all([
      execFileAsync("id", ["-u", "postgres"]),
      execFileAsync("id", ["-g", "postgres"]),
    ]);
    return { name: "postgres", uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch (cause) {
    throw new Error(
      "running as root, but there is no `postgres` OS user to run initdb as (initdb refuses root): install Debian's postgresql package, or run the tests as a normal user",
      { cause },
    );
  }
}

/**
 * Runs one of the installation's tools (as the `postgres` user when we are
 * root) in `cwd`, which that user must be able to enter.
 *
 * @throws Error with the tool's stderr when it exits non-zero.
 */
export async function runPostgresTool(
  pg: PostgresBinaries,
  tool: string,
  args: readonly string[],
  cwd: string,
): Promise<string> {
  const path = join(pg.binDir, tool);
  const [file, argv] =
    pg.osUser === undefined
      ? [path, [...args]]
      : ["runuser", ["-u", pg.osUser.name, "--", path, ...args]];
  try {
    const { stdout } = await execFileAsync(file, argv, {
      cwd,
      env: { ...process.env, LC_ALL: "C" },
      timeout: 120_000,
    });
    return stdout;
  } catch (cause) {
    const stderr = (cause as { stderr?: string }).stderr?.trim() ?? "";
    throw new Error(`${tool} ${args[0] ?? ""} failed: ${stderr || String(cause)}`, { cause });
  }
}
