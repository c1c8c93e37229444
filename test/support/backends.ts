import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe } from "vitest";
import { describeWithPostgres, freshPostgresDatabase } from "./with-postgres.js";

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
}

/** A backend under test. */
export interface Backend {
  readonly name: BackendName;
  /** New storage, never shared; deleted after the backend's suite. */
  fresh(): Promise<BackendStorage>;
}

/**
 * Declares `fn`'s tests once per backend, each inside a `describe` named for it.
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
export function forEachBackend(fn: (backend: Backend) => void): void {
  for (const name of ["sqlite", "postgres"] as const) {
    const suite = name === "postgres" ? describeWithPostgres : describe;
    suite(name, () => {
      const dirs: string[] = [];
      // Registered before fn's hooks, so it runs after them (hooks unwind as a stack).
      afterAll(async () => {
        for (const dir of dirs) await rm(dir, { recursive: true, force: true });
      });
      fn({
        name,
        async fresh() {
          const dataDir = await mkdtemp(join(tmpdir(), `hexclave-${name}-`));
          dirs.push(dataDir);
          const databaseUrl = name === "postgres" ? await freshPostgresDatabase() : undefined;
          return {
            dataDir,
            databaseUrl,
            env: {
              HEXCLAVE_DATA_DIR: dataDir,
              ...(databaseUrl === undefined ? {} : { HEXCLAVE_DATABASE_URL: databaseUrl }),
            },
          };
        },
      });
    });
  }
}
