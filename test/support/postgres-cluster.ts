import { randomBytes } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import {
  appendFile,
  chown,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../bench/free-port.js";
import {
  findPostgresBinaries,
  type PostgresBinaries,
  runPostgresTool,
} from "./postgres-binaries.js";
import { createDatabase, waitUntilAccepting } from "./postgres-databases.js";
import {
  CLUSTER_DIR_PREFIX,
  killServerProcesses,
  notAtExit,
  OWNER_FILE,
  signalServerProcesses,
  stopAtExit,
  sweepAbandonedClusters,
} from "./postgres-processes.js";

/** A throwaway PostgreSQL cluster in a temp directory, on a free port of 127.0.0.1. */
export interface PostgresCluster {
  /** `postgres://hexclave:<password>@127.0.0.1:<port>/postgres`, as the superuser. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** The Unix socket directory (inside the temp directory). */
  readonly socketDir: string;
  /** `postgres --version` of the binaries it runs. */
  readonly version: string;
  /** How long initdb and the first start took, in milliseconds. */
  readonly timings: { readonly initdbMs: number; readonly startMs: number };
  /** Creates an empty database (default name: unique in this process) and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Fast shutdown (connections are closed); resolves once the postmaster has exited. */
  stop(): Promise<void>;
  /** Starts again on the same port and data directory; resolves once it accepts connections. */
  start(): Promise<void>;
  /** SIGKILLs the postmaster and its server processes, without a shutdown checkpoint. */
  kill(): Promise<void>;
  /** Stops the cluster (killing it if it will not stop) and deletes its temp directory. */
  close(): Promise<void>;
}

/** Options of {@link startPostgresCluster}. */
export interface PostgresClusterOptions {
  /** Default: {@link findPostgresBinaries}. */
  readonly binaries?: PostgresBinaries;
  /** Default 300: several server processes, each with its pool, share one cluster. */
  readonly maxConnections?: number;
}

const SUPERUSER = "hexclave";
const HOST = "127.0.0.1";

/**
 * Settings for a cluster that lives one test run. Durability is spelled out
 * and stays as in production (fsync, synchronous_commit, full_page_writes):
 * durability tests run against it. Only initdb skips its fsyncs (--no-sync).
 */
function settings(socketDir: string, maxConnections: number): string {
  return `
# hexclave test cluster
listen_addresses = '${HOST}'
unix_socket_directories = '${socketDir}'
max_connections = ${maxConnections}
fsync = on
synchronous_commit = on
full_page_writes = on
`;
}

/**
 * Creates and starts a PostgreSQL cluster for tests: initdb (as the
 * `postgres` OS user when we are root) into a fresh temp directory, then
 * pg_ctl start on a free port, then a real connection as the readiness check.
 *
 * @throws Error if there are no PostgreSQL binaries or the cluster does not
 *   start (the message carries the server log's tail).
 * @example
 * const cluster = await startPostgresCluster();
 * afterAll(() => cluster.close());
 * const url = await cluster.createDatabase();
 */
export async function startPostgresCluster(
  options: PostgresClusterOptions = {},
): Promise<PostgresCluster> {
  const pg = options.binaries ?? (await findPostgresBinaries());
  if (pg === undefined) throw new Error("no PostgreSQL binaries: install postgresql or set PG_BIN");
  await sweepAbandonedClusters();
  const root = await mkdtemp(join(tmpdir(), CLUSTER_DIR_PREFIX));
  await writeFile(join(root, OWNER_FILE), String(process.pid));
  const dataDir = join(root, "data");
  const socketDir = join(root, "socket");
  const logFile = join(root, "postgres.log");
  try {
    const password = randomBytes(18).toString("base64url");
    const pwFile = join(root, "password");
    await mkdir(socketDir, { mode: 0o700 });
    await writeFile(pwFile, password, { mode: 0o600 });
    if (pg.osUser !== undefined) {
      for (const path of [root, socketDir, pwFile]) await chown(path, pg.osUser.uid, pg.osUser.gid);
    }
    const t0 = performance.now();
    // --no-sync: only initdb's own files skip fsync; the running server syncs everything.
    await runPostgresTool(
      pg,
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
      settings(socketDir, options.maxConnections ?? 300),
    );
    const t1 = performance.now();
    let port = 0;
    const serve = async (): Promise<void> => {
      await pgCtlStart(pg, dataDir, logFile, port, root);
      await waitUntilAccepting(url(password, port));
    };
    // A free port can be taken between finding it and binding it: try another.
    for (let attempt = 1; ; attempt++) {
      port = await freePort(HOST);
      try {
        await serve();
        break;
      } catch (err) {
        if (attempt === 5 || !/could not bind|already in use/i.test(String(err))) throw err;
      }
    }
    const timings = { initdbMs: t1 - t0, startMs: performance.now() - t1 };
    return clusterHandle({ pg, root, dataDir, socketDir, port, password, serve, timings });
  } catch (err) {
    await killServerProcesses(dataDir).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
    throw err;
  }
}

function clusterHandle(c: {
  pg: PostgresBinaries;
  root: string;
  dataDir: string;
  socketDir: string;
  port: number;
  password: string;
  serve: () => Promise<void>;
  timings: PostgresCluster["timings"];
}): PostgresCluster {
  let state: "running" | "stopped" | "closed" = "running";
  let databases = 0;
  const emergencyStop = (): void => {
    signalServerProcesses(c.dataDir);
    rmSync(c.root, { recursive: true, force: true });
  };
  stopAtExit(emergencyStop);
  const stop = async (): Promise<void> => {
    if (state !== "running") return;
    await runPostgresTool(c.pg, "pg_ctl", ["-D", c.dataDir, "-m", "fast", "-w", "stop"], c.root);
    state = "stopped";
  };
  const kill = async (): Promise<void> => {
    if (state !== "running") return;
    await killServerProcesses(c.dataDir);
    // Every server process is dead, but a postmaster not yet reaped by init
    // (a zombie) would make the next start believe it still runs: its lock
    // files are stale, so they go.
    const locks = (await readdir(c.socketDir)).filter((f) => f.endsWith(".lock"));
    for (const f of locks) await rm(join(c.socketDir, f), { force: true });
    await rm(join(c.dataDir, "postmaster.pid"), { force: true });
    state = "stopped";
  };
  return Object.freeze({
    url: url(c.password, c.port),
    host: HOST,
    port: c.port,
    dataDir: c.dataDir,
    socketDir: c.socketDir,
    version: c.pg.version,
    timings: Object.freeze(c.timings),
    createDatabase(name?: string) {
      if (state !== "running") throw new Error(`the test cluster is ${state}`);
      databases += 1;
      return createDatabase(
        url(c.password, c.port),
        name ?? `hexclave_${process.pid}_${databases}`,
      );
    },
    stop,
    kill,
    async start() {
      if (state === "closed") throw new Error("the test cluster is closed");
      if (state === "running") return;
      await c.serve();
      state = "running";
    },
    async close() {
      if (state === "closed") return;
      await stop().catch(kill);
      state = "closed";
      notAtExit(emergencyStop);
      await rm(c.root, { recursive: true, force: true });
    },
  });
}

function url(password: string, port: number): string {
  return `postgres://${SUPERUSER}:${password}@${HOST}:${port}/postgres`;
}

/** pg_ctl start; on failure the error carries what the server logged this time. */
async function pgCtlStart(
  pg: PostgresBinaries,
  dataDir: string,
  logFile: string,
  port: number,
  cwd: string,
): Promise<void> {
  const logged = existsSync(logFile) ? (await stat(logFile)).size : 0;
  try {
    // -w waits for the postmaster to report itself ready (or to die);
    // the caller then proves it by connecting.
    await runPostgresTool(
      pg,
      "pg_ctl",
      ["-D", dataDir, "-l", logFile, "-o", `-p ${port}`, "-w", "-t", "60", "start"],
      cwd,
    );
  } catch (err) {
    const log = existsSync(logFile) ? (await readFile(logFile)).subarray(logged).toString() : "";
    throw new Error(`PostgreSQL did not start on port ${port}:\n${log.trim()}`, { cause: err });
  }
}
