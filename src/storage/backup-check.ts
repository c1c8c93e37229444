import { stat } from "node:fs/promises";
import type { StorageReads } from "../vault/storage-port.js";
import { type BackupManifest, readManifest } from "./backup-manifest.js";
import { compareDigests, type DatabaseDigest, digestDatabase } from "./database-digest.js";
import { inspectStorage } from "./inspect-storage.js";
import { migrationProvider } from "./migrations.js";
import { portReads, readSnapshot } from "./read-snapshot.js";
import { SQLITE_COLUMN_TYPES } from "./sqlite-storage.js";

/** What `backup verify` found in a backup file. */
export interface BackupCheck {
  readonly file: string;
  readonly bytes: number;
  /** SQLite's integrity_check: ["ok"] when it finds nothing. */
  readonly integrity: readonly string[];
  readonly schema: {
    readonly migrations: readonly string[];
    /** Against this version's migrations. */
    readonly state: "current" | "older" | "newer";
  };
  /** The file's own manifest; undefined for a plain database file. */
  readonly manifest: Omit<BackupManifest, "digest"> | undefined;
  /** What the file holds now. */
  readonly digest: DatabaseDigest;
  /** Master key ids the stores' data keys are wrapped under, with how many stores each. */
  readonly masterKeys: readonly { readonly id: string; readonly stores: number }[];
  /** Everything found wrong; empty when the backup is sound. */
  readonly problems: readonly string[];
}

/**
 * Checks a backup file without changing it: SQLite's integrity check, the
 * schema's migrations, the digest of what it holds against the digest its
 * manifest recorded when it was made, and the master keys its stores need.
 * `checkKeys`, given the file's reads, adds what the master key finds (the
 * vault's check that every store key unwraps).
 *
 * @throws Error if the file cannot be opened as an SQLite database.
 * @example
 * const check = await checkBackupFile("/backups/vault.db");
 * if (check.problems.length > 0) process.exitCode = 1;
 */
export async function checkBackupFile(
  file: string,
  options: {
    readonly checkKeys?: (reads: StorageReads) => Promise<string[]>;
    readonly onProgress?: (entries: number) => void;
  } = {},
): Promise<BackupCheck> {
  const bytes = (await stat(file)).size;
  const inspected = await inspectStorage({ sqliteFile: file });
  try {
    const problems: string[] = [];
    const integrity = await inspected.integrityCheck();
    if (integrity.length !== 1 || integrity[0] !== "ok") {
      problems.push(`SQLite's integrity check fails: ${integrity.slice(0, 3).join("; ")}`);
    }
    const migrations = await inspected.migrations().catch(() => {
      throw new Error(`${file} is not a Hexclave database or backup (it has no schema history)`);
    });
    const known = Object.keys(await migrationProvider(SQLITE_COLUMN_TYPES).getMigrations());
    const state = migrations.some((m) => !known.includes(m))
      ? "newer"
      : known.some((m) => !migrations.includes(m))
        ? "older"
        : "current";
    if (state === "newer") {
      problems.push(
        "the schema is newer than this version: check it with the version that made it",
      );
    }
    return await readSnapshot(inspected.db, "sqlite", async (snapshot) => {
      const manifest = await readManifest(snapshot);
      const digest = await digestDatabase(snapshot, options.onProgress);
      if (manifest === undefined) {
        problems.push("the file has no backup manifest: it was not made by `hexclave backup`");
      } else {
        for (const line of compareDigests(manifest.digest, digest, [
          "the manifest (as backed up)",
          "the file now",
        ])) {
          problems.push(line);
        }
      }
      if (options.checkKeys !== undefined) {
        problems.push(...(await options.checkKeys(portReads(snapshot))));
      }
      const perKey = new Map<string, number>();
      for (const store of digest.stores) {
        perKey.set(store.masterKeyId, (perKey.get(store.masterKeyId) ?? 0) + 1);
      }
      return {
        file,
        bytes,
        integrity,
        schema: { migrations, state },
        manifest:
          manifest === undefined
            ? undefined
            : { format: manifest.format, takenAt: manifest.takenAt, source: manifest.source },
        digest,
        masterKeys: [...perKey].map(([id, stores]) => ({ id, stores })),
        problems,
      };
    });
  } finally {
    await inspected.close();
  }
}
