import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe } from "vitest";
import { type PostgresCluster, startPostgresCluster } from "./postgres-cluster.js";
import {
  describeWithPostgres,
  freshPostgresDatabase,
  type PostgresNeeds,
} from "./with-postgres.js";

/**
 * One suite, run once per storage backend against real databases — kysely's
 * way of testing its dialects. SQLite always runs; PostgreSQL runs on the
 * suite's shared server, or is skipped loudly without one.
 */

/** The storage backends the server supports. */
export type BackendName = "sqlite" | "postgres";

/** Storage for one server: what `startServer` / `hexclave serve` are given. */
export interface BackendStorage {
  /** A fresh, empty data directory (the SQLite file lives here; the master key in development). */
  readonly dataDir: string;
  /** A fresh, empty database on PostgreSQL; undefined on SQLite. */
  readonly databaseUrl: string | undefined;
  /** The same as environment variables, for spawnServer/launch. */
  readonly env: Readonly<Record<string, string>>;
  /**
   * The data directory of the PostgreSQL cluster holding `databaseUrl`, when
   * the suite has a cluster of its own (`{ ownCluster: true }`): for tests
   * that look at the files. Undefined on SQLite and on the shared server.
   */
  readonly clusterDataDir: string | undefined;
}

/** A backend under test. */
export interface Backend {
  readonly name: BackendName;
  /** New storage, never shared; deleted after the backend's suite. */
  fresh(): Promise<BackendStorage>;
}

/**
 * Declares `fn`'s tests once per backend, each inside a `describe` named for it.
 * With `{ ownCluster: true }` the PostgreSQL half starts a cluster of its own
 * (on first use, closed after the suite) instead of using the shared server:
 * for tests that read the cluster's files or stop it.
 *
 * @example
 * forEachBackend((backend) => {
 *   let t: TestServer;
 *   beforeAll(async () => {
 *     const { dataDir, databaseUrl } = await backend.fresh();
 *     t = await startTestServer({ dataDir, databaseUrl });
 *   });
 *   afterAll(() => t.close());
 *   it("stores a value", async () => {});
 * });
 */
export function forEachBackend(fn: (backend: Backend) => void, needs: PostgresNeeds = {}): void {
  for (const name of ["sqlite", "postgres"] as const) {
    const body = () => {
      const dirs: string[] = [];
      let cluster: Promise<PostgresCluster> | undefined;
      // Registered before fn's hooks, so it runs after them (hooks unwind as a stack).
      afterAll(async () => {
        for (const dir of dirs) await rm(dir, { recursive: true, force: true });
        await (await cluster)?.close();
      });
      const freshDatabase = async (): Promise<{ url: string; clusterDataDir?: string }> => {
        if (needs.ownCluster !== true) return { url: await freshPostgresDatabase() };
        cluster ??= startPostgresCluster();
        const own = await cluster;
        return { url: await own.createDatabase(), clusterDataDir: own.dataDir };
      };
      fn({
        name,
        async fresh() {
          const dataDir = await mkdtemp(join(tmpdir(), `hexclave-${name}-`));
          dirs.push(dataDir);
          const database = name === "postgres" ? await freshDatabase() : undefined;
          const databaseUrl = database?.url;
          return {
            dataDir,
            databaseUrl,
            clusterDataDir: database?.clusterDataDir,
            env: {
              HEXCLAVE_DATA_DIR: dataDir,
              ...(databaseUrl === undefined ? {} : { HEXCLAVE_DATABASE_URL: databaseUrl }),
            },
          };
        },
      });
    };
    if (name === "postgres") describeWithPostgres(name, body, needs);
    else describe(name, body);
  }
}
