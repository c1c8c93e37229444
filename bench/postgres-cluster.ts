import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { appendFile, chown, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { childPids } from "./cpu-sampler.js";
import { freePort } from "./free-port.js";

const execFileAsync = promisify(execFile);

/** Debian's layout: one directory per major version. */
const DEBIAN_POSTGRES_ROOT = "/usr/lib/postgresql";
const HOST = "127.0.0.1";
const SUPERUSER = "hexclave";

/** A throwaway PostgreSQL cluster on this machine, for the bench's PostgreSQL rows. */
export interface BenchPostgres {
  /** `postgres --version`. */
  readonly version: string;
  /** Creates an empty database and returns its URL (the superuser's, password included). */
  createDatabase(name: string): Promise<string>;
  /** The postmaster and its backends: the database's share of the CPU. */
  pids(): number[];
  /** Fast shutdown, then the temp directory goes. */
  close(): Promise<void>;
}

/**
 * Starts a PostgreSQL cluster the way the test suite's does
 * (test/support/postgres-cluster.ts, which the build does not include):
 * initdb into a temp directory (as the `postgres` OS user when we are root:
 * initdb refuses root), durability as in production (fsync,
 * synchronous_commit, full_page_writes), a random superuser password, a free
 * port on 127.0.0.1. Binaries: `PG_BIN`, else the newest
 * /usr/lib/postgresql/<major>/bin.
 *
 * @throws Error if there are no binaries or the cluster does not start.
 * @example
 * const postgres = await startBenchPostgres();
 * const url = await postgres.createDatabase("bench_one");
 */
export async function startBenchPostgres(): Promise<BenchPostgres> {
  const binDir = postgresBinDir();
  if (binDir === undefined) {
    throw new Error(
      `no PostgreSQL binaries (PG_BIN, or ${DEBIAN_POSTGRES_ROOT}/<major>/bin): apt-get install postgresql, or --skip-postgres`,
    );
  }
  const user = process.getuid?.() === 0 ? await osUser("postgres") : undefined;
  const run = async (tool: string, args: readonly string[], cwd: string): Promise<string> => {
    const path = join(binDir, tool);
    const [file, argv] =
      user === undefined ? [path, args] : ["runuser", ["-u", "postgres", "--", path, ...args]];
    try {
      const { stdout } = await execFileAsync(file, [...argv], {
        cwd,
        env: { ...process.env, LC_ALL: "C" },
        timeout: 120_000,
      });
      return stdout;
    } catch (cause) {
      const stderr = (cause as { stderr?: string }).stderr?.trim() ?? "";
      throw new Error(`${tool} failed: ${stderr || String(cause)}`, { cause });
    }
  };
  const root = await mkdtemp(join(tmpdir(), "hexclave-bench-pg-"));
  const dataDir = join(root, "data");
  const socketDir = join(root, "socket");
  const logFile = join(root, "postgres.log");
  const password = randomBytes(18).toString("base64url");
  const pwFile = join(root, "password");
  let started = false;
  try {
    await mkdir(socketDir, { mode: 0o700 });
    await writeFile(pwFile, password, { mode: 0o600 });
    if (user !== undefined) {
      for (const path of [root, socketDir, pwFile]) await chown(path, user.uid, user.gid);
    }
    await run(
      "initdb",
      [
        ...["-D", dataDir, "-U", SUPERUSER, `--pwfile=${pwFile}`, "--auth=scram-sha-256"],
        ...["--encoding=UTF8", "--no-locale", "--no-sync", "--no-instructions"],
      ],
      root,
    );
    await rm(pwFile);
    await appendFile(
      join(dataDir, "postgresql.conf"),
      `
# hexclave bench cluster: durable as in production
listen_addresses = '${HOST}'
unix_socket_directories = '${socketDir}'
max_connections = 200
fsync = on
synchronous_commit = on
full_page_writes = on
`,
    );
    const port = await freePort(HOST);
    await run(
      "pg_ctl",
      ["-D", dataDir, "-l", logFile, "-o", `-p ${port}`, "-w", "-t", "60", "start"],
      root,
    ).catch(async (error: unknown) => {
      const log = existsSync(logFile) ? (await readFile(logFile, "utf8")).slice(-2000) : "";
      throw new Error(`PostgreSQL did not start: ${log}`, { cause: error });
    });
    started = true;
    const adminUrl = `postgres://${SUPERUSER}:${password}@${HOST}:${port}/postgres`;
    const version = (await execFileAsync(join(binDir, "postgres"), ["--version"])).stdout.trim();
    const postmaster = Number(
      (await readFile(join(dataDir, "postmaster.pid"), "utf8")).split("\n")[0],
    );
    return {
      version,
      async createDatabase(name) {
        if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`bad database name "${name}"`);
        const client = new pg.Client({ connectionString: adminUrl });
        await client.connect();
        try {
          await client.query(`CREATE DATABASE ${name} TEMPLATE template0`);
        } finally {
          await client.end();
        }
        return `postgres://${SUPERUSER}:${password}@${HOST}:${port}/${name}`;
      },
      pids: () => [postmaster, ...childPids(postmaster)],
      async close() {
        await run("pg_ctl", ["-D", dataDir, "-m", "fast", "-w", "stop"], root).catch(() => {});
        await rm(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    if (started)
      await run("pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"], root).catch(() => {});
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}

function postgresBinDir(): string | undefined {
  const fromEnv = process.env.PG_BIN;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  if (!existsSync(DEBIAN_POSTGRES_ROOT)) return undefined;
  const majors = readdirSync(DEBIAN_POSTGRES_ROOT)
    .filter(
      (name) => /^\d+$/.test(name) && existsSync(join(DEBIAN_POSTGRES_ROOT, name, "bin", "initdb")),
    )
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] === undefined ? undefined : join(DEBIAN_POSTGRES_ROOT, majors[0], "bin");
}

async function osUser(name: string): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([
    execFileAsync("id", ["-u", name]),
    execFileAsync("id", ["-g", name]),
  ]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}
