import { Command } from "commander";
import { connectionOptions } from "./client-options.js";
import { entryLine } from "./entry-lines.js";
import { progressLine } from "./progress.js";
import { secretOptions, withStore } from "./store-session.js";

type Flags = { address?: string; token?: string; progress?: boolean };

const FORMAT_HELP =
  "\nOne JSON object per line: key; value (text) or valueBase64 (bytes, standard base64);\n" +
  "writtenAt (ISO 8601); expiresAt (ISO 8601, or null). Values are in plaintext: keep the\n" +
  "output as safe as the secret. `hexclave import` reads it back.";

/**
 * `hexclave export <store>`: every entry sealed under your secret(s), opened
 * locally, as JSON Lines on stdout (entry-lines.ts).
 *
 * @example
 * program.addCommand(exportCommand());
 */
export function exportCommand(): Command {
  return connectionOptions(new Command("export"))
    .description(
      "print your own entries (sealed under HEXCLAVE_SECRET, and HEXCLAVE_PREVIOUS_SECRET) as JSON Lines, opened locally",
    )
    .argument("<store>", "store id")
    .option("--progress", "show progress on stderr even when it is not a terminal")
    .addHelpText("after", FORMAT_HELP)
    .action(async (storeId: string, flags: Flags) => {
      const options = secretOptions();
      const shown = flags.progress === true || process.stderr.isTTY === true;
      const progress = progressLine(shown, "entries exported");
      const count = await withStore(flags, storeId, async (store) => {
        let done = 0;
        for await (const entry of store.entries({ ...options, as: "bytes" })) {
          const line = entryLine(entry);
          entry.value.fill(0);
          // Respect the pipe's back pressure: a large store must not pile up in memory.
          if (!process.stdout.write(line)) {
            await new Promise((resolve) => process.stdout.once("drain", resolve));
          }
          done += 1;
          progress.update(done);
        }
        return done;
      });
      progress.done();
      if (shown) process.stderr.write(`exported ${count} entries from store "${storeId}"\n`);
    });
}
