import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { findPostgresBinaries, WHERE_POSTGRES_IS_LOOKED_FOR } from "./postgres-binaries.js";
import { startPostgresCluster } from "./postgres-cluster.js";
import { dropDatabases, redacted, waitUntilAccepting, withClient } from "./postgres-databases.js";
import { isPostgresRequired, type ProvidedPostgres } from "./postgres-provided.js";

/**
 * vitest globalSetup: one PostgreSQL server for the whole run, shared by
 * every test file (each takes databases of its own with
 * freshPostgresDatabase). It is HEXCLAVE_TEST_DATABASE_URL when set, else a
 * throwaway cluster started here and removed at the end, pass or fail.
 * Without PostgreSQL the tests that need it are skipped and listed in a
 * banner, unless CI / HEXCLAVE_REQUIRE_POSTGRES says nothing may be skipped.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const env = process.env;
  const binaries = await findPostgresBinaries(env);
  const noBinaries = `no PostgreSQL binaries (looked for ${WHERE_POSTGRES_IS_LOOKED_FOR})`;
  if (binaries === undefined && isPostgresRequired(env)) {
    // Even with HEXCLAVE_TEST_DATABASE_URL: outage and crash tests start clusters of their own.
    throw new Error(
      `${noBinaries}, and CI / HEXCLAVE_REQUIRE_POSTGRES forbids skipping the PostgreSQL tests: install postgresql or set PG_BIN`,
    );
  }
  const external = env.HEXCLAVE_TEST_DATABASE_URL || undefined;
  const databasePrefix = `hexclave_test_${randomBytes(4).toString("hex")}_`;
  const skipDir = await mkdtemp(join(tmpdir(), "hexclave-test-skips-"));
  let url: string | undefined;
  let release = async (): Promise<void> => {};
  let version: string | undefined;
  try {
    if (external !== undefined) {
      await waitUntilAccepting(external, 15_000);
      url = external;
      // Only what this run made: other runs may share the server.
      release = async () => {
        await dropDatabases(external, databasePrefix);
      };
      console.log(`PostgreSQL tests use HEXCLAVE_TEST_DATABASE_URL=${redacted(external)}`);
    } else if (binaries !== undefined) {
      const cluster = await startPostgresCluster({ binaries });
      url = cluster.url;
      release = () => cluster.close();
      const { initdbMs, startMs } = cluster.timings;
      console.log(
        `PostgreSQL test cluster on ${cluster.host}:${cluster.port} (${cluster.version}): initdb ${ms(initdbMs)}, start ${ms(startMs)}`,
      );
    }
    if (url !== undefined) {
      version = await withClient(
        url,
        async (c) => (await c.query("SELECT version()")).rows[0].version,
      );
    }
  } catch (err) {
    await release();
    await rm(skipDir, { recursive: true, force: true });
    throw err;
  }
  // With an external server but no binaries, only tests that start their own cluster miss out.
  const missing = url === undefined ? noBinaries : `${noBinaries} to start a cluster of its own`;
  const provided: ProvidedPostgres = {
    url,
    source: external !== undefined ? "external" : url !== undefined ? "cluster" : undefined,
    version,
    databasePrefix,
    binDir: binaries?.binDir,
    missing,
    skipLog: join(skipDir, "skipped.jsonl"),
  };
  project.provide("postgres", provided);
  if (binaries === undefined) {
    const what = url === undefined ? "PostgreSQL tests" : "Tests that start a PostgreSQL cluster";
    banner([`${what} will be SKIPPED: ${missing}.`]);
  }
  return async () => {
    try {
      await release();
    } finally {
      reportSkipped(provided.skipLog);
      await rm(skipDir, { recursive: true, force: true });
    }
  };
}

/** How to get PostgreSQL, for skip banners and errors. */
const HOW_TO_GET_POSTGRES =
  "install it (apt-get install postgresql), set PG_BIN to its bin directory, or set HEXCLAVE_TEST_DATABASE_URL to a server where that role may CREATE DATABASE";

/** Prints every suite or test the files said they skipped for want of PostgreSQL. */
function reportSkipped(skipLog: string): void {
  if (!existsSync(skipLog)) return;
  const entries = readFileSync(skipLog, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as { file: string; name: string; reason: string });
  const reasons = [...new Set(entries.map((e) => e.reason))];
  const lines = [...new Set(entries.map((e) => `  ${e.file} > ${e.name}`))].sort();
  banner([
    `SKIPPED for want of PostgreSQL (${lines.length}):`,
    ...lines,
    ...reasons.map((r) => `Why: ${r}.`),
    `To run them: ${HOW_TO_GET_POSTGRES}.`,
    "In CI (CI=1 or HEXCLAVE_REQUIRE_POSTGRES=1) this fails the run instead.",
  ]);
}

function banner(lines: readonly string[]): void {
  const rule = "!".repeat(78);
  console.warn(`\n${rule}\n${lines.map((l) => `!! ${l}`).join("\n")}\n${rule}\n`);
}

function ms(value: number): string {
  return `${(value / 1000).toFixed(2)} s`;
}
