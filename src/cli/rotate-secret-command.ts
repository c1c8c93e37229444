import { Command } from "commander";
import type { RotationProgress } from "../client/client-options.js";
import { CliError, printData } from "./cli-output.js";
import { connectionOptions } from "./client-options.js";
import {
  PREVIOUS_SECRET_ENV,
  parseIntegerFlag,
  previousSecret,
  requireSecret,
  SECRET_ENV,
  withStore,
} from "./store-session.js";

type Flags = {
  address?: string;
  token?: string;
  json?: boolean;
  concurrency?: string;
  keepOldSecret?: boolean;
};

/**
 * `hexclave rotate-secret <store>`: re-seals every entry from
 * HEXCLAVE_PREVIOUS_SECRET to HEXCLAVE_SECRET, then retires the old secret.
 * Safe to interrupt and run again.
 *
 * @example
 * program.addCommand(rotateSecretCommand());
 */
export function rotateSecretCommand(): Command {
  return connectionOptions(new Command("rotate-secret"))
    .description(
      `re-seal every entry of a store from the old secret (${PREVIOUS_SECRET_ENV}) to the new one (${SECRET_ENV}), then retire the old one; safe to interrupt and run again`,
    )
    .argument("<store>", "store id")
    .option("--concurrency <n>", "writes in flight at once, 1 to 64", "16")
    .option("--keep-old-secret", "do not retire the old secret at the end")
    .option("--json", "print a JSON summary")
    .addHelpText(
      "after",
      `\nSecrets come from the environment only: ${PREVIOUS_SECRET_ENV} (old) and ${SECRET_ENV} (new).\n` +
        "While it runs, clients keep working with { secret: new, previousSecrets: [old] }.",
    )
    .action(async (storeId: string, flags: Flags) => {
      const to = requireSecret();
      const from = previousSecret();
      if (from === undefined) {
        throw new CliError(
          `set ${PREVIOUS_SECRET_ENV} to the secret the entries are sealed under now, and ${SECRET_ENV} to the new one`,
        );
      }
      const concurrency = parseIntegerFlag(flags.concurrency, "--concurrency");
      const progress = progressReporter(storeId);
      const summary = await withStore(flags, storeId, async (store) => {
        const fromFingerprint = await store.secretFingerprint(from);
        const toFingerprint = await store.secretFingerprint(to);
        const result = await store.rotateSecret({
          from,
          to,
          concurrency,
          retire: flags.keepOldSecret !== true,
          onProgress: progress.update,
        });
        return { store: storeId, fromFingerprint, toFingerprint, ...result };
      });
      progress.finish();
      printData(flags.json === true, summary, () =>
        [
          `store "${storeId}": re-sealed ${summary.resealed} of ${summary.total} entries under secret ${summary.toFingerprint}` +
            (summary.superseded > 0 ? ` (${summary.superseded} were already rewritten)` : ""),
          summary.retired
            ? `old secret ${summary.fromFingerprint} is retired: it can no longer be used with this store`
            : `old secret ${summary.fromFingerprint} is still registered (--keep-old-secret)`,
        ].join("\n"),
      );
    });
}

/** A bar redrawn in place on a terminal; a line per tenth done otherwise (logs, CI). */
function progressReporter(storeId: string): {
  update: (p: RotationProgress) => void;
  finish: () => void;
} {
  const tty = process.stderr.isTTY === true;
  let lastDraw = 0;
  let lastTenth = -1;
  let drawn = false;
  return {
    update({ done, total }) {
      const fraction = total === 0 ? 1 : done / total;
      if (tty) {
        const now = Date.now();
        if (now - lastDraw < 80 && done < total) return;
        lastDraw = now;
        const width = 30;
        const filled = Math.round(fraction * width);
        process.stderr.write(
          `\rrotating "${storeId}" [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total} ${Math.floor(fraction * 100)}%`,
        );
        drawn = true;
        return;
      }
      const tenth = Math.floor(fraction * 10);
      if (tenth === lastTenth) return;
      lastTenth = tenth;
      process.stderr.write(`rotating "${storeId}": ${done}/${total} (${tenth * 10}%)\n`);
    },
    finish() {
      if (drawn) process.stderr.write("\n");
    },
  };
}
