import { appendFileSync } from "node:fs";
import { relative } from "node:path";
import { describe, expect, inject, type TestContext } from "vitest";
import { createDatabase } from "./postgres-databases.js";
import { isPostgresRequired, type ProvidedPostgres } from "./postgres-provided.js";

/**
 * What test files use to reach PostgreSQL: the shared server the global
 * setup provides, a fresh database per caller, and loud skipping when there
 * is no PostgreSQL (every skip is listed in the banner at the end of the run).
 */

/** What a suite needs: a database on the shared server, or binaries to start a cluster of its own. */
export interface PostgresNeeds {
  /**
   * True for outage and crash tests: they stop or kill the server, so they
   * must start their own with startPostgresCluster(), never the shared one.
   * Default false.
   */
  readonly ownCluster?: boolean;
}

/** The shared server, as {@link postgresOrSkip} returns it. */
export interface SharedPostgres {
  /** A role that may CREATE DATABASE (the superuser on the run's own cluster). */
  readonly url: string;
  readonly source: "cluster" | "external";
  /** `SELECT version()`. */
  readonly version: string;
}

/**
 * `describe` when PostgreSQL is there, else a loudly skipped `describe`
 * (failing instead under CI / HEXCLAVE_REQUIRE_POSTGRES).
 *
 * @example
 * describeWithPostgres("repository on PostgreSQL", () => {
 *   let url: string;
 *   beforeAll(async () => { url = await freshPostgresDatabase(); });
 *   it("…", async () => {});
 * });
 */
export function describeWithPostgres(
  name: string,
  fn: () => void,
  needs: PostgresNeeds = {},
): void {
  const missing = whatIsMissing(needs);
  if (missing === undefined) {
    describe(name, fn);
    return;
  }
  recordSkip(name, missing);
  describe.skip(`${name} (skipped: no PostgreSQL)`, fn);
}

/**
 * Inside a test: the shared server, or the test is skipped (loudly, as above).
 *
 * @example
 * it("reads back", async (ctx) => {
 *   const { url } = postgresOrSkip(ctx);
 * });
 */
export function postgresOrSkip(ctx: TestContext, needs: PostgresNeeds = {}): SharedPostgres {
  const missing = whatIsMissing(needs);
  if (missing !== undefined) {
    recordSkip(ctx.task.name, missing);
    ctx.skip(missing);
  }
  const p = provided();
  return { url: p.url!, source: p.source!, version: p.version! };
}

let databases = 0;

/**
 * Creates an empty database on the shared server for this caller alone
 * (files run in parallel and never share one) and returns its URL.
 * The run's own cluster is deleted at the end; on an external server the
 * global setup drops every database the run made.
 *
 * @throws Error if there is no PostgreSQL: wrap the suite in describeWithPostgres.
 * @example
 * const databaseUrl = await freshPostgresDatabase();
 */
export async function freshPostgresDatabase(): Promise<string> {
  const p = provided();
  if (p.url === undefined) {
    throw new Error(
      `no PostgreSQL for this test (${p.missing}): wrap the suite in describeWithPostgres()`,
    );
  }
  databases += 1;
  return createDatabase(p.url, `${p.databasePrefix}${process.pid}_${databases}`);
}

function provided(): ProvidedPostgres {
  const p = inject("postgres") as ProvidedPostgres | undefined;
  if (p === undefined) {
    throw new Error(
      "test/support/postgres-global-setup.ts did not run: it is vitest.config.ts's globalSetup",
    );
  }
  return p;
}

function whatIsMissing(needs: PostgresNeeds): string | undefined {
  const p = provided();
  const missing =
    (needs.ownCluster === true ? p.binDir : p.url) === undefined ? p.missing : undefined;
  if (missing !== undefined && isPostgresRequired()) {
    throw new Error(`PostgreSQL is required (CI / HEXCLAVE_REQUIRE_POSTGRES), but: ${missing}`);
  }
  return missing;
}

function recordSkip(name: string, reason: string): void {
  const file = relative(process.cwd(), expect.getState().testPath ?? "unknown file");
  // One short line per write: O_APPEND keeps parallel workers' lines whole.
  appendFileSync(provided().skipLog, `${JSON.stringify({ file, name, reason })}\n`);
}
