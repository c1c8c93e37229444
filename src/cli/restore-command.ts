import { existsSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { DEV_MASTER_KEY_FILE } from "../server/master-key.js";
import { readManifest } from "../storage/backup-manifest.js";
import { compareDigests } from "../storage/database-digest.js";
import { type DatabaseLocation, describeLocation } from "../storage/database-location.js";
import { portReads } from "../storage/read-snapshot.js";
import { transferDatabase } from "../storage/transfer-database.js";
import { checkStoreKeys } from "../vault/store-keys-check.js";
import { CliError, printData } from "./cli-output.js";
import {
  type DatabaseFlags,
  databaseConfig,
  databaseMasterKeys,
  databaseOptions,
} from "./database-options.js";
import { phasedProgress } from "./transfer-progress.js";

/**
 * `hexclave restore --from FILE`: writes a backup into a data directory or a
 * PostgreSQL database. Before anything is written it checks the backup
 * (integrity, its digest against its manifest) and that the master key
 * opens every store in it: restoring is for whoever holds the master key.
 */
export function restoreCommand(): Command {
  return databaseOptions(new Command("restore"))
    .description(
      "restore a backup into a data directory or a PostgreSQL database (needs the master key)",
    )
    .requiredOption("--from <file>", "the backup file (made by `hexclave backup`)")
    .option("--force", "replace what the target holds (it is emptied first)")
    .option("--json", "print the report as JSON")
    .action(async (flags: DatabaseFlags & { from: string; force?: boolean; json?: boolean }) => {
      if (!existsSync(flags.from)) throw new CliError(`--from ${flags.from} does not exist`);
      const config = databaseConfig(flags);
      if (
        config.masterKeyFile === undefined &&
        config.masterKeyBase64 === undefined &&
        !existsSync(join(config.dataDir, DEV_MASTER_KEY_FILE))
      ) {
        throw new CliError(
          "restore needs the master key the backup was made under: --master-key-file / HEXCLAVE_MASTER_KEY_FILE, or HEXCLAVE_MASTER_KEY",
        );
      }
      const keys = await databaseMasterKeys(config);
      const source: DatabaseLocation = { kind: "sqlite-file", file: flags.from };
      const target: DatabaseLocation =
        config.databaseUrl === undefined
          ? { kind: "sqlite", dataDir: config.dataDir }
          : { kind: "postgres", url: config.databaseUrl };
      const started = Date.now();
      const progress = phasedProgress(flags.json !== true);
      const report = await transferDatabase({
        source,
        target,
        replace: flags.force === true,
        // Nothing is written until the backup has shown it is whole and the key opens it.
        async check(snapshot, digest) {
          const manifest = await readManifest(snapshot);
          if (manifest !== undefined) {
            const changed = compareDigests(manifest.digest, digest, [
              "the manifest (as backed up)",
              "the file now",
            ]);
            if (changed.length > 0) {
              throw new CliError(
                `the backup file changed since it was made (${changed[0]}): nothing was restored; use another backup`,
              );
            }
          }
          const problems = await checkStoreKeys(portReads(snapshot), [
            keys.current,
            ...keys.previous,
          ]);
          if (problems.length > 0) {
            throw new CliError(
              `the master key does not open this backup (${problems[0]}${problems.length > 1 ? `, and ${problems.length - 1} more` : ""}): nothing was restored; give the master key the backup was made under (--master-key-file / HEXCLAVE_MASTER_KEY_FILE)`,
            );
          }
        },
        onProgress: (phase, done, total) => progress.update(phase, done, total),
      }).finally(() => progress.done());
      const seconds = (Date.now() - started) / 1000;
      const { digest } = report;
      printData(flags.json === true, { ok: true, seconds, ...report.copy, digest }, () =>
        [
          `restored ${digest.stores.length} stores, ${digest.entries} entries, ${digest.tokens.count} tokens and ${digest.audit.records} audit records`,
          `into ${describeLocation(target)} in ${seconds.toFixed(1)} s; digests match the backup`,
          "start the server there with the same master key",
        ].join("\n"),
      );
    });
}
