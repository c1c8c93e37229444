import { existsSync } from "node:fs";
import { Command } from "commander";
import { checkBackupFile } from "../storage/backup-check.js";
import { backupDatabase } from "../storage/backup-database.js";
import type { DatabaseLocation } from "../storage/database-location.js";
import { checkStoreKeys } from "../vault/store-keys-check.js";
import { CliError, printData } from "./cli-output.js";
import {
  type DatabaseFlags,
  databaseConfig,
  databaseMasterKeys,
  databaseOptions,
} from "./database-options.js";
import { progressLine } from "./progress.js";
import { phasedProgress } from "./transfer-progress.js";

/**
 * `hexclave backup --to FILE`: one consistent snapshot of the database into
 * one SQLite file, beside running servers; `hexclave backup verify FILE`
 * checks one. Values stay sealed: a backup is read with the master key only.
 * docs/backup.md says what a backup holds and who can read it.
 */
export function backupCommand(): Command {
  const backup = databaseOptions(new Command("backup"), { masterKey: false })
    .description(
      "snapshot the database into one SQLite file while the server runs (values stay sealed)",
    )
    .option("--to <file>", "the backup file to write (0600; written whole or not at all)")
    .option("--force", "replace the file if it exists")
    .option("--json", "print the report as JSON")
    .action(async (flags: DatabaseFlags & { to?: string; force?: boolean; json?: boolean }) => {
      // Not a required option: commander would then require it of `backup verify` too.
      if (flags.to === undefined)
        throw new CliError("--to <file> is required: the backup file to write");
      const file = flags.to;
      const config = databaseConfig(flags);
      if (existsSync(flags.to) && flags.force !== true) {
        throw new CliError(
          `${flags.to} exists: choose another name, or pass --force to replace it`,
        );
      }
      const source: DatabaseLocation =
        config.databaseUrl === undefined
          ? { kind: "sqlite", dataDir: config.dataDir }
          : { kind: "postgres", url: config.databaseUrl };
      const started = Date.now();
      const progress = phasedProgress(flags.json !== true);
      const report = await backupDatabase(source, file, (phase, done, total) =>
        progress.update(phase, done, total),
      ).finally(() => progress.done());
      const seconds = (Date.now() - started) / 1000;
      printData(flags.json === true, { ok: true, seconds, ...report }, () =>
        [
          `backed up ${report.digest.stores.length} stores, ${report.digest.entries} entries, ${report.digest.tokens.count} tokens and ${report.digest.audit.records} audit records`,
          `into ${report.file} (${report.bytes} bytes, one moment: ${report.takenAt}) in ${seconds.toFixed(1)} s`,
          "restoring it needs the master key its stores are wrapped under",
        ].join("\n"),
      );
    });

  backup.addCommand(
    new Command("verify")
      .description(
        "check a backup file: integrity, schema, digests against its manifest, master keys needed",
      )
      .argument("<file>", "the backup file")
      .option(
        "--master-key-file <file>",
        "also check every store key opens under this master key (or HEXCLAVE_MASTER_KEY_FILE / HEXCLAVE_MASTER_KEY when set)",
      )
      .option("--json", "print the report as JSON")
      .action(async (file: string, _options: unknown, command: Command) => {
        // `backup` has a --json of its own, which commander hands --json to: read both.
        const flags = command.optsWithGlobals<{ masterKeyFile?: string; json?: boolean }>();
        if (!existsSync(file)) throw new CliError(`${file} does not exist`);
        const keyGiven =
          flags.masterKeyFile !== undefined ||
          process.env.HEXCLAVE_MASTER_KEY_FILE !== undefined ||
          process.env.HEXCLAVE_MASTER_KEY !== undefined;
        const keys = keyGiven
          ? await databaseMasterKeys(
              databaseConfig(
                flags.masterKeyFile === undefined ? {} : { masterKeyFile: flags.masterKeyFile },
              ),
            )
          : undefined;
        const progress = progressLine(flags.json !== true, "entries checked");
        const check = await checkBackupFile(file, {
          onProgress: (n) => progress.update(n),
          ...(keys === undefined
            ? {}
            : { checkKeys: (reads) => checkStoreKeys(reads, [keys.current, ...keys.previous]) }),
        }).finally(() => progress.done());
        const ok = check.problems.length === 0;
        const { digest } = check;
        printData(flags.json === true, { ok, keysChecked: keys !== undefined, ...check }, () =>
          [
            `backup ${check.file}: ${check.bytes} bytes${check.manifest === undefined ? "" : `, taken ${check.manifest.takenAt} from ${check.manifest.source}`}`,
            `integrity: ${check.integrity.slice(0, 10).join("; ")}`,
            `schema: ${check.schema.migrations.at(-1) ?? "none"} (${check.schema.state})`,
            `${digest.stores.length} stores, ${digest.entries} entries, ${digest.tokens.count} tokens, ${digest.audit.records} audit records, ${digest.audit.checkpoints} checkpoints`,
            ...check.masterKeys.map((k) => `master key ${k.id}: wraps ${k.stores} store(s)`),
            ...digest.stores.map(
              (s) => `store "${s.id}": ${s.entries} entries, sha256 ${s.sha256}`,
            ),
            keys === undefined
              ? "store keys not checked (no master key given)"
              : "store keys checked against the master key",
            ...check.problems.map((p) => `problem: ${p}`),
            ok ? "the backup is sound" : "",
          ]
            .filter((line) => line !== "")
            .join("\n"),
        );
        if (!ok) {
          throw new CliError(
            `the backup has ${check.problems.length} problem(s): ${check.problems[0]}`,
          );
        }
      }),
  );
  return backup;
}
