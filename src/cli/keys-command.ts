import { Command } from "commander";
import { printData } from "./cli-output.js";
import { connectionOptions } from "./client-options.js";
import { progressLine } from "./progress.js";
import { secretOptions, withStore } from "./store-session.js";

type Flags = { address?: string; token?: string; json?: boolean; progress?: boolean };

/**
 * `hexclave keys list <store>`: the names of your own keys — those sealed
 * under HEXCLAVE_SECRET (and HEXCLAVE_PREVIOUS_SECRET) — recovered locally
 * from the sealed values; the server only has their keyed hashes.
 *
 * @example
 * program.addCommand(keysCommand());
 */
export function keysCommand(): Command {
  const keys = new Command("keys").description("list the key names sealed under your secret");
  keys.addCommand(
    connectionOptions(new Command("list"))
      .description(
        "print the name of every key sealed under HEXCLAVE_SECRET (and HEXCLAVE_PREVIOUS_SECRET), one per line; opened locally",
      )
      .argument("<store>", "store id")
      .option("--json", 'print [{"key", "version", "writtenAt", "expiresAt"}]')
      .option("--progress", "show progress on stderr even when it is not a terminal")
      .action(async (storeId: string, flags: Flags) => {
        const options = secretOptions();
        const progress = progressLine(
          flags.progress === true || process.stderr.isTTY === true,
          "keys listed",
        );
        const listed = await withStore(flags, storeId, async (store) => {
          const found: {
            key: string;
            version: number;
            writtenAt: string;
            expiresAt: string | null;
          }[] = [];
          for await (const entry of store.entries({ ...options, as: "bytes" })) {
            entry.value.fill(0);
            found.push({
              key: entry.key,
              version: entry.version,
              writtenAt: entry.writtenAt.toISOString(),
              expiresAt: entry.expiresAt?.toISOString() ?? null,
            });
            progress.update(found.length);
          }
          return found;
        });
        progress.done();
        listed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        if (flags.json === true) printData(true, listed, () => "");
        else if (listed.length > 0)
          process.stdout.write(`${listed.map((e) => e.key).join("\n")}\n`);
      }),
  );
  return keys;
}
