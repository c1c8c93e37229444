import { Command } from "commander";
import type { RotationProgress } from "../client/client-options.js";
import { CliError, printData } from "./cli-output.js";
import { connectionOptions } from "./client-options.js";
import { progressLine } from "./progress.js";
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
  progress?: boolean;
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
    .option(
      "--progress",
      "show progress (rate, time left) on stderr even when it is not a terminal",
    )
    .option("--json", "print a JSON summary")
    .addHelpText(
      "after",
      `\nSecrets come from the environment only: ${PREVIOUS_SECRET_ENV} (old) and ${SECRET_ENV} (new).\n` +
        "While it runs, clients keep working with { secret: new, previousSecrets: [old] }.\n" +
        "Ctrl-C stops it safely and says how far it got; running it again resumes.",
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
      const progress = progressLine(
        flags.progress === true || process.stderr.isTTY === true,
        "entries re-sealed",
      );
      const started = Date.now();
      let latest: RotationProgress = { done: 0, total: 0 };
      // Ctrl-C is safe at any point (each entry moves in one transaction): say how far it got.
      const interrupted = (): void => {
        progress.done();
        const seconds = Math.max((Date.now() - started) / 1000, 0.001);
        process.stderr.write(
          `hexclave: interrupted: ${latest.done} of ${latest.total} entries of store "${storeId}" re-sealed ` +
            `(${Math.round(latest.done / seconds)}/s); every entry is wholly under the old secret or the new one, ` +
            "so nothing is lost: run the same command again to resume where it stopped\n",
        );
        process.exit(130);
      };
      process.once("SIGINT", interrupted);
      const summary = await withStore(flags, storeId, async (store) => {
        const fromFingerprint = await store.secretFingerprint(from);
        const toFingerprint = await store.secretFingerprint(to);
        const result = await store.rotateSecret({
          from,
          to,
          concurrency,
          retire: flags.keepOldSecret !== true,
          onProgress: (p) => {
            latest = p;
            progress.update(p.done, p.total);
          },
        });
        return { store: storeId, fromFingerprint, toFingerprint, ...result };
      }).finally(() => process.off("SIGINT", interrupted));
      progress.done();
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
