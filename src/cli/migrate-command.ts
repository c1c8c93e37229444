import { Command } from "commander";
import { describeLocation } from "../storage/database-location.js";
import { transferDatabase } from "../storage/transfer-database.js";
import { printData } from "./cli-output.js";
import { databaseLocation } from "./database-location-option.js";
import { phasedProgress } from "./transfer-progress.js";

interface MigrateFlags {
  readonly from: string;
  readonly to: string;
  readonly resume?: boolean;
  readonly allowLiveSource?: boolean;
  readonly json?: boolean;
}

/**
 * `hexclave migrate --from A --to B`: moves a vault between SQLite and
 * PostgreSQL (either way), rows as they are — still sealed, so no secret and
 * no master key is needed — and proves the copy by digest. Resumable with
 * --resume after a crash. docs/backup.md has the procedure.
 */
export function migrateCommand(): Command {
  return new Command("migrate")
    .description(
      "copy a vault's database between SQLite and PostgreSQL, still sealed, and check the copy by digest",
    )
    .requiredOption("--from <dir|url>", "the source: a data directory, or postgres://…")
    .requiredOption("--to <url|dir>", "the target: postgres://…, or a data directory")
    .option("--resume", "continue an interrupted migrate of the same source into this target")
    .option(
      "--allow-live-source",
      "copy while servers still use the source: one consistent moment of it; later writes are not copied",
    )
    .option("--json", "print the report as JSON")
    .action(async (flags: MigrateFlags) => {
      const source = databaseLocation(flags.from, "--from", { file: true });
      const target = databaseLocation(flags.to, "--to");
      const started = Date.now();
      const progress = phasedProgress(flags.json !== true);
      const report = await transferDatabase({
        source,
        target,
        resume: flags.resume === true,
        allowLiveSource: flags.allowLiveSource === true,
        onProgress: (phase, done, total) => progress.update(phase, done, total),
      }).finally(() => progress.done());
      const seconds = (Date.now() - started) / 1000;
      const { copy, digest } = report;
      printData(flags.json === true, { ok: true, seconds, ...copy, digest }, () =>
        [
          `copied ${digest.stores.length} stores, ${digest.entries} entries, ${digest.tokens.count} tokens and ${digest.audit.records} audit records (this run wrote ${copy.entriesCopied} entries; ${copy.storesResumed} stores were finished by an earlier run)`,
          `from ${describeLocation(source)} to ${describeLocation(target)} in ${seconds.toFixed(1)} s`,
          "counts and digests match on both sides (every store, the tokens, the audit log)",
          "start the server on the target with the same master key",
        ].join("\n"),
      );
    });
}
