import { Command } from "commander";
import type { Store } from "../../gen/hexclave/v1/types.js";
import { withAdmin } from "./admin-connection.js";
import { CliError, printData, table } from "./cli-output.js";
import { connectionOptions } from "./client-options.js";
import { formatBytes, formatTime } from "./format.js";

type Flags = { address?: string; token?: string; json?: boolean };

/** `hexclave stores create|list|get|delete`: manage stores (admin token). */
export function storesCommand(): Command {
  const stores = new Command("stores").description(
    "create, list, inspect and delete stores (needs an admin token)",
  );

  stores.addCommand(
    connectionOptions(new Command("create"))
      .description("create an empty store with its own salt and data key")
      .argument("<id>", "store id: lowercase letters, digits, _ and -, at most 63 characters")
      .option("--description <text>", "free text for operators", "")
      .option(
        "--max-value-bytes <n>",
        "largest sealed value accepted, 1024 to 1048576 (default 65536)",
      )
      .option("--json", "print the store as JSON")
      .action(
        async (id: string, flags: Flags & { description: string; maxValueBytes?: string }) => {
          const maxValueBytes =
            flags.maxValueBytes === undefined
              ? undefined
              : BigInt(parseCount(flags.maxValueBytes, "--max-value-bytes"));
          const { store } = await withAdmin(flags, (a) =>
            a.call((c) => c.createStore, {
              storeId: id,
              description: flags.description,
              maxValueBytes,
            }),
          );
          printData(flags.json === true, storeJson(store), () => `created store "${id}"`);
        },
      ),
  );

  stores.addCommand(
    connectionOptions(new Command("list"))
      .description("list every store with its entry count and size")
      .option("--json", "print the stores as JSON")
      .action(async (flags: Flags) => {
        const { stores: list } = await withAdmin(flags, (a) => a.call((c) => c.listStores, {}));
        printData(flags.json === true, list.map(storeJson), () =>
          list.length === 0
            ? 'no stores yet: create one with "hexclave stores create <id>"'
            : table(
                ["ID", "ENTRIES", "SIZE", "SECRETS", "CREATED", "DESCRIPTION"],
                list.map((s) => [
                  s.id,
                  String(s.entryCount),
                  formatBytes(Number(s.totalValueBytes)),
                  String(s.secrets.length),
                  formatTime(s.createTime),
                  s.description,
                ]),
              ),
        );
      }),
  );

  stores.addCommand(
    connectionOptions(new Command("get"))
      .description("show one store: limits, counts and registered secret fingerprints")
      .argument("<id>", "store id")
      .option("--json", "print the store as JSON")
      .action(async (id: string, flags: Flags) => {
        const { store } = await withAdmin(flags, (a) => a.call((c) => c.getStore, { storeId: id }));
        printData(flags.json === true, storeJson(store), () => describeStore(store));
      }),
  );

  stores.addCommand(
    connectionOptions(new Command("delete"))
      .description(
        "delete a store: its key is destroyed first, so its entries can never be read again",
      )
      .argument("<id>", "store id")
      .option("--yes", "confirm: this cannot be undone")
      .option("--json", "print the result as JSON")
      .action(async (id: string, flags: Flags & { yes?: boolean }) => {
        if (flags.yes !== true) {
          throw new CliError(
            `refusing to delete store "${id}" without --yes: its entries become unreadable for good`,
          );
        }
        const res = await withAdmin(flags, (a) => a.call((c) => c.deleteStore, { storeId: id }));
        printData(
          flags.json === true,
          { id, deletedEntryCount: Number(res.deletedEntryCount) },
          () => `deleted store "${id}" (${res.deletedEntryCount} entries; its key is destroyed)`,
        );
      }),
  );
  return stores;
}

function storeJson(store: Store | undefined): Record<string, unknown> {
  if (store === undefined) throw new CliError("the server sent no store");
  return {
    id: store.id,
    description: store.description,
    maxValueBytes: store.maxValueBytes,
    // Counts fit a number by far; JSON has no bigint.
    entryCount: Number(store.entryCount),
    totalValueBytes: Number(store.totalValueBytes),
    secrets: store.secrets.map((s) => ({
      fingerprint: s.fingerprint.toString("hex"),
      entryCount: Number(s.entryCount),
      registerTime: s.registerTime?.toISOString(),
    })),
    createTime: store.createTime?.toISOString(),
  };
}

function describeStore(store: Store | undefined): string {
  const s = storeJson(store) as ReturnType<typeof storeJson> & {
    secrets: { fingerprint: string; entryCount: number }[];
  };
  const lines = [
    `id:           ${s.id}`,
    `description:  ${s.description}`,
    `entries:      ${s.entryCount}`,
    `size:         ${formatBytes(Number(s.totalValueBytes))}`,
    `max value:    ${formatBytes(Number(s.maxValueBytes))}`,
    `created:      ${s.createTime}`,
    `secrets:      ${s.secrets.length === 0 ? "none yet (the first write registers one)" : ""}`,
    ...s.secrets.map((x) => `  ${x.fingerprint}  ${x.entryCount} entries`),
  ];
  return lines.join("\n");
}

/** Parses a positive integer flag. */
export function parseCount(text: string, flag: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n))
    throw new CliError(`${flag} must be a whole number, got "${text}"`);
  return n;
}
