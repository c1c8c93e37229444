import { readFile } from "node:fs/promises";
import { Command } from "commander";
import type { DataVaultStore } from "../client/data-vault-store.js";
import { forEachBounded } from "../client/for-each-bounded.js";
import type { HexclaveError } from "../client/hexclave-error.js";
import { CliError, printData } from "./cli-output.js";
import { connectionOptions } from "./client-options.js";
import { type ImportedEntry, parseEntryLines } from "./entry-lines.js";
import { progressLine } from "./progress.js";
import { parseIntegerFlag, requireSecret, withStore } from "./store-session.js";

type Flags = {
  address?: string;
  token?: string;
  json?: boolean;
  progress?: boolean;
  overwrite?: boolean;
  concurrency?: string;
};

/** What one entry came to. */
type Outcome = "imported" | "existed" | "expired";

/** Malformed lines listed in the error, at most. */
const SHOWN_ERRORS = 10;

/**
 * `hexclave import <store> [file]`: writes the entries of a `hexclave export`
 * (JSON Lines, entry-lines.ts) into a store, sealed under HEXCLAVE_SECRET,
 * keeping each entry's write time and expiry.
 *
 * Every line is checked before anything is written: one malformed line and
 * nothing is imported. Entries that exist are kept (an import never
 * overwrites unless `--overwrite`), so an interrupted import is finished by
 * running it again.
 *
 * @example
 * program.addCommand(importCommand());
 */
export function importCommand(): Command {
  return connectionOptions(new Command("import"))
    .description(
      "write the entries of a `hexclave export` (JSON Lines, from a file or stdin) into a store, sealed under HEXCLAVE_SECRET; keeps existing entries unless --overwrite",
    )
    .argument("<store>", "store id")
    .argument("[file]", "the export to read; omit it to read stdin")
    .option("--overwrite", "replace entries that exist (default: keep them and skip the line)")
    .option("--concurrency <n>", "writes in flight at once, 1 to 64", "16")
    .option("--progress", "show progress on stderr even when it is not a terminal")
    .option("--json", "print a JSON summary")
    .addHelpText(
      "after",
      "\nEach entry keeps its writtenAt and expiresAt; entries already expired are skipped.\n" +
        "Every line is checked first: a malformed line (reported by number) imports nothing.",
    )
    .action(async (storeId: string, file: string | undefined, flags: Flags) => {
      const concurrency = parseIntegerFlag(flags.concurrency, "--concurrency") ?? 16;
      if (concurrency < 1 || concurrency > 64) {
        throw new CliError(`--concurrency must be from 1 to 64, got ${concurrency}`);
      }
      const secret = requireSecret();
      const text = file === undefined ? await readStdin() : await readInput(file);
      const { entries, errors } = parseEntryLines(text);
      if (errors.length > 0) {
        const more =
          errors.length > SHOWN_ERRORS ? `; and ${errors.length - SHOWN_ERRORS} more` : "";
        throw new CliError(
          `INVALID_ARGUMENT: ${errors.length} malformed line${errors.length === 1 ? "" : "s"}, nothing imported: ` +
            `${errors.slice(0, SHOWN_ERRORS).join("; ")}${more}`,
        );
      }
      if (entries.length === 0) throw new CliError("nothing to import: the input holds no entries");
      const progress = progressLine(
        flags.progress === true || process.stderr.isTTY === true,
        "entries imported",
        entries.length,
      );
      const counts: Record<Outcome, number> = { imported: 0, existed: 0, expired: 0 };
      let failedAt: ImportedEntry | undefined;
      await withStore(flags, storeId, (store) =>
        forEachBounded(entries, concurrency, async (entry) => {
          try {
            counts[await importOne(store, secret, entry, flags.overwrite === true)] += 1;
          } catch (error) {
            failedAt ??= entry;
            throw error;
          }
          progress.update(counts.imported + counts.existed + counts.expired);
        }).catch((error: unknown) => {
          progress.done();
          const e = error as Partial<HexclaveError>;
          const done = counts.imported + counts.existed + counts.expired;
          throw new CliError(
            `${e.code === undefined ? "" : `${e.code}: `}${e.message ?? String(error)} ` +
              `(at line ${failedAt?.line}; ${done} of ${entries.length} entries were dealt with and stay; ` +
              `run the same import again to finish${flags.overwrite === true ? "" : ": entries that exist now are skipped"})`,
          );
        }),
      );
      progress.done();
      const summary = { store: storeId, lines: entries.length, ...counts };
      printData(flags.json === true, summary, () =>
        [
          `imported ${counts.imported} of ${entries.length} entries into store "${storeId}"`,
          counts.existed > 0
            ? `${counts.existed} already existed and were kept (--overwrite replaces them)`
            : "",
          counts.expired > 0 ? `${counts.expired} had expired and were skipped` : "",
        ]
          .filter((line) => line !== "")
          .join("\n"),
      );
    });
}

async function importOne(
  store: DataVaultStore,
  secret: string,
  entry: ImportedEntry,
  overwrite: boolean,
): Promise<Outcome> {
  if (entry.expiresAt !== undefined && entry.expiresAt.getTime() <= Date.now()) return "expired";
  try {
    await store.setValue(entry.key, entry.value, {
      secret,
      // Without --overwrite, only where nothing is: a check-and-set, which also makes a
      // write cut off by a restart safe to retry.
      ...(overwrite ? {} : { ifVersion: 0 }),
      writtenAt: entry.writtenAt,
      expiresAt: entry.expiresAt,
    });
    return "imported";
  } catch (error) {
    const e = error as HexclaveError;
    if (!overwrite && e.code === "VERSION_CONFLICT") return "existed";
    // Expired in flight, by the server's clock.
    if (e.code === "INVALID_ARGUMENT" && e.metadata?.field === "expire_time") return "expired";
    throw error;
  }
}

async function readInput(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
  }
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY === true) {
    throw new CliError(
      "give the export as a file argument, or pipe it in: hexclave import <store> < export.jsonl",
    );
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
