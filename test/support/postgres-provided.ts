import { isRequired } from "./required-programs.js";

/**
 * What the PostgreSQL global setup tells test files (through vitest's
 * provide/inject), and the one rule both sides apply: in CI nothing is skipped.
 */

/** The suite's PostgreSQL, as test files see it. */
export interface ProvidedPostgres {
  /** A role that may CREATE DATABASE on the shared server; undefined when there is none. */
  readonly url: string | undefined;
  /** Where `url` points: the run's own throwaway cluster, or HEXCLAVE_TEST_DATABASE_URL. */
  readonly source: "cluster" | "external" | undefined;
  /** `SELECT version()` of the shared server. */
  readonly version: string | undefined;
  /** Every database this run creates starts with it, so the run can drop them all at the end. */
  readonly databasePrefix: string;
  /** PostgreSQL binaries for tests that start a cluster of their own; undefined when none. */
  readonly binDir: string | undefined;
  /** Why PostgreSQL tests are skipped, for the messages (set whenever `url` or `binDir` is not). */
  readonly missing: string;
  /** File the test files append their skipped suites to; the global setup prints them at the end. */
  readonly skipLog: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    postgres: ProvidedPostgres;
  }
}

/**
 * True when a missing PostgreSQL must fail the run rather than skip tests:
 * `HEXCLAVE_REQUIRE_POSTGRES=1`, or `CI` set to anything but "" / "0" / "false".
 */
export function isPostgresRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  return isRequired("HEXCLAVE_REQUIRE_POSTGRES", env);
}
