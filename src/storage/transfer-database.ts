import type { Kysely } from "kysely";
import { openCopySource } from "./copy-source.js";
import { type CopyTarget, openCopyTarget } from "./copy-target.js";
import { compareDigests, type DatabaseDigest, digestDatabase } from "./database-digest.js";
import { type DatabaseLocation, describeLocation } from "./database-location.js";
import { type CopyReport, copyDatabase } from "./logical-copy.js";
import { migrationProvider } from "./migrations.js";
import type { Database } from "./schema.js";
import { SQLITE_COLUMN_TYPES } from "./sqlite-storage.js";

/** Options for {@link transferDatabase}. */
export interface TransferOptions {
  readonly source: DatabaseLocation;
  readonly target: DatabaseLocation;
  /**
   * The target may already hold what an interrupted run of this same
   * transfer wrote: continue it. Default false: a non-empty target is refused.
   */
  readonly resume?: boolean;
  /** Empty a non-empty target before copying (restore --force). Default false. */
  readonly replace?: boolean;
  /**
   * Copy from a source servers are using: one consistent moment of it; what
   * they write later is not copied. Default false: refused while a server
   * runs there (and a data directory is locked for the copy's duration).
   */
  readonly allowLiveSource?: boolean;
  /**
   * Checks the source before anything is written to the target (restore:
   * the master key opens its stores; the backup's own digest matches). It
   * gets the snapshot the copy will read and that snapshot's digest.
   */
  readonly check?: (source: Kysely<Database>, digest: DatabaseDigest) => Promise<void>;
  /** Told how far each phase is: digesting the source, copying, digesting the target. */
  readonly onProgress?: (phase: TransferPhase, done: number, total: number) => void;
}

/** A phase of a transfer, for progress. */
export type TransferPhase = "reading the source" | "copying" | "checking the target";

/** What a transfer did and found. */
export interface TransferReport {
  readonly copy: CopyReport;
  /** The digest both sides were found to have. */
  readonly digest: DatabaseDigest;
}

/**
 * Copies a vault's database to another place, engine to engine (SQLite data
 * directory, single SQLite file, PostgreSQL), and proves the copy: the source
 * is read as one snapshot, digested, copied (logical-copy.ts), and the target
 * digested and compared — per store the entry count and a SHA-256 over every
 * row in key id order, then the tokens and the audit log.
 *
 * Refuses, before writing anything: a source whose schema is not this
 * version's; a source servers are using (unless allowLiveSource); a target a
 * server is using; a non-empty target (unless resume or replace).
 *
 * @throws Error saying what was refused or what differs; with a difference,
 *   the target keeps what was copied (resume after fixing the cause, or start over).
 * @example
 * await transferDatabase({ source: { kind: "sqlite", dataDir: "/data" }, target: { kind: "postgres", url } });
 */
export async function transferDatabase(options: TransferOptions): Promise<TransferReport> {
  const allowLive = options.allowLiveSource ?? false;
  const source = await openCopySource(options.source, { lock: !allowLive });
  try {
    await assertCurrentSchema(await schemaOf(source.migrations(), options.source), options.source);
    if (!allowLive) {
      const live = await source.liveServers();
      if (live.length > 0) {
        throw new Error(
          `${live.length} Hexclave server(s) are using ${describeLocation(options.source)} (pid ${live[0]?.pid} on ${live[0]?.host}): stop them first, so that no write is made after the copy reads it (or pass --allow-live-source to copy one consistent moment of it anyway)`,
        );
      }
    }
    return await source.snapshot(async (snapshot) => {
      const progress = options.onProgress;
      const digest = await digestDatabase(snapshot, (n) => progress?.("reading the source", n, 0));
      await options.check?.(snapshot, digest);
      const target = await openCopyTarget(options.target);
      try {
        await prepareTarget(target, options);
        const copy = await copyDatabase(snapshot, target.db, {
          onProgress: (done, total) => progress?.("copying", done, total),
        });
        const copied = await digestDatabase(target.db, (n) =>
          progress?.("checking the target", n, digest.entries),
        );
        const problems = compareDigests(digest, copied);
        if (problems.length > 0) {
          throw new Error(
            `the copy in ${describeLocation(options.target)} does not match ${describeLocation(options.source)}: ${problems.slice(0, 3).join("; ")}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ""}${copy.storesResumed > 0 || options.resume === true ? ": did the source change since the first run? Copy again into an empty target" : ""}`,
          );
        }
        return { copy, digest };
      } finally {
        await target.close();
      }
    });
  } finally {
    await source.close();
  }
}

async function prepareTarget(target: CopyTarget, options: TransferOptions): Promise<void> {
  const live = await target.liveServers();
  if (live.length > 0) {
    throw new Error(
      `${live.length} Hexclave server(s) are using ${describeLocation(options.target)} (pid ${live[0]?.pid} on ${live[0]?.host}): stop them first; nothing is written into a database a server is using`,
    );
  }
  if (await target.isEmpty()) return;
  if (options.replace === true) {
    await target.empty();
    return;
  }
  if (options.resume !== true) {
    throw new Error(
      `${describeLocation(options.target)} is not empty: copy into an empty database, or pass --resume to continue an interrupted copy of this same source`,
    );
  }
}

/** The migrations a source has applied; a database without that history is no vault's. */
async function schemaOf(
  migrations: Promise<string[]>,
  location: DatabaseLocation,
): Promise<string[]> {
  try {
    return await migrations;
  } catch (cause) {
    throw new Error(
      `${describeLocation(location)} is not a Hexclave database (it has no schema history): check the path or URL`,
      { cause },
    );
  }
}

/** Refuses a source migrated by an older or newer Hexclave: rows move only between equal schemas. */
async function assertCurrentSchema(applied: string[], location: DatabaseLocation): Promise<void> {
  const known = Object.keys(await migrationProvider(SQLITE_COLUMN_TYPES).getMigrations()).sort();
  const newer = applied.filter((name) => !known.includes(name));
  if (newer.length > 0) {
    throw new Error(
      `${describeLocation(location)} was migrated by a newer Hexclave (it has migration ${newer[0]}): run this with that version, or a newer one`,
    );
  }
  const missing = known.filter((name) => !applied.includes(name));
  if (missing.length > 0) {
    throw new Error(
      `${describeLocation(location)} has an older schema (it lacks migration ${missing[0]}): start this version's server on it once (it migrates at start), then run this again`,
    );
  }
}
