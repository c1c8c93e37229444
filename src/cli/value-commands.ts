import { Command } from "commander";
import { decodeStrictUtf8 } from "../crypto/strict-utf8.js";
import { CliError, printData } from "./cli-output.js";
import { connectionOptions } from "./client-options.js";
import { parseDuration } from "./duration.js";
import { jsonValue } from "./entry-lines.js";
import { parseIntegerFlag, secretOptions, withStore } from "./store-session.js";

type Flags = {
  address?: string;
  token?: string;
  json?: boolean;
  ifVersion?: string;
  ttl?: string;
  allowEmpty?: boolean;
};

const SECRET_HELP =
  "\nThe secret comes from HEXCLAVE_SECRET only (never a flag, so it stays out of shell history);\n" +
  "during a rotation, HEXCLAVE_PREVIOUS_SECRET names the old one.";

/**
 * `hexclave set|get|delete <store> <key>`: read and write single values for
 * debugging, sealed and opened locally like any client does.
 *
 * @example
 * for (const c of valueCommands()) program.addCommand(c);
 */
export function valueCommands(): Command[] {
  return [setCommand(), getCommand(), deleteCommand()];
}

function setCommand(): Command {
  return connectionOptions(new Command("set"))
    .description("seal a value and store it under a key")
    .argument("<store>", "store id")
    .argument("<key>", "key name")
    .argument(
      "[value]",
      "the value; omit it to read the value from stdin (keeps it out of shell history; one trailing newline is dropped)",
    )
    .option("--if-version <n>", "write only if the entry is at this version (0: only if absent)")
    .option("--ttl <duration>", "the entry expires this long after the write: 90s, 15m, 1h, 30d")
    .option(
      "--allow-empty",
      "store an empty value (refused otherwise: an empty or closed stdin is usually a mistake)",
    )
    .option("--json", "print the result as JSON")
    .addHelpText("after", SECRET_HELP)
    .action(async (storeId: string, key: string, given: string | undefined, flags: Flags) => {
      const ifVersion = parseIntegerFlag(flags.ifVersion, "--if-version");
      const expiresIn = flags.ttl === undefined ? undefined : parseDuration(flags.ttl, "--ttl");
      const options = secretOptions();
      const value = given ?? (await readStdinValue());
      if (value.length === 0 && flags.allowEmpty !== true) {
        throw new CliError(
          given === undefined
            ? "no value: stdin was empty or closed; pipe the value in or pass it as an argument (--allow-empty stores an empty value)"
            : "the value is empty: pass --allow-empty to store an empty value",
        );
      }
      const { version } = await withStore(flags, storeId, (store) =>
        store.setValue(key, value, { ...options, ifVersion, expiresIn }),
      );
      const expiresAt =
        expiresIn === undefined ? undefined : new Date(Date.now() + expiresIn).toISOString();
      printData(
        flags.json === true,
        { store: storeId, key, version, ...(expiresAt === undefined ? {} : { expiresAt }) },
        () =>
          `set ${JSON.stringify(key)} in store "${storeId}" (version ${version}${flags.ttl === undefined ? "" : `, expires in ${flags.ttl}`})`,
      );
    });
}

function getCommand(): Command {
  return connectionOptions(new Command("get"))
    .description("open and print the value under a key (exit 1 if there is none)")
    .argument("<store>", "store id")
    .argument("<key>", "key name")
    .option(
      "--json",
      'print {"key", "version", "value" (text) or "valueBase64" (bytes), "writtenAt", "expiresAt"}',
    )
    .addHelpText(
      "after",
      `\nText is printed with a trailing newline; bytes that are not UTF-8 as they are.${SECRET_HELP}`,
    )
    .action(async (storeId: string, key: string, flags: Flags) => {
      const options = secretOptions();
      const entry = await withStore(flags, storeId, (store) =>
        store.getEntry(key, { ...options, as: "bytes" }),
      );
      if (entry === null) {
        throw new CliError(`no value under key ${JSON.stringify(key)} in store "${storeId}"`);
      }
      const bytes = Buffer.from(entry.value);
      const text = decodeStrictUtf8(bytes);
      if (flags.json === true) {
        printData(
          true,
          {
            store: storeId,
            key,
            version: entry.version,
            ...jsonValue(entry.storedAs, bytes),
            writtenAt: entry.writtenAt.toISOString(),
            expiresAt: entry.expiresAt?.toISOString() ?? null,
          },
          () => "",
        );
      } else if (text === undefined) {
        process.stdout.write(bytes);
      } else {
        process.stdout.write(`${text}\n`);
      }
      bytes.fill(0);
    });
}

function deleteCommand(): Command {
  return connectionOptions(new Command("delete"))
    .description("delete the value under a key (under the previous secret too, if set)")
    .argument("<store>", "store id")
    .argument("<key>", "key name")
    .option("--if-version <n>", "delete only if the entry is at this version")
    .option("--json", "print the result as JSON")
    .addHelpText("after", SECRET_HELP)
    .action(async (storeId: string, key: string, flags: Flags) => {
      const ifVersion = parseIntegerFlag(flags.ifVersion, "--if-version");
      const options = secretOptions();
      const deleted = await withStore(flags, storeId, (store) =>
        store.deleteValue(key, { ...options, ifVersion }),
      );
      printData(flags.json === true, { store: storeId, key, deleted }, () =>
        deleted
          ? `deleted ${JSON.stringify(key)} from store "${storeId}"`
          : `nothing to delete: no value under key ${JSON.stringify(key)} in store "${storeId}"`,
      );
    });
}

/** The value piped in: text if it is UTF-8 (less one trailing newline), else bytes. */
async function readStdinValue(): Promise<string | Uint8Array> {
  if (process.stdin.isTTY === true) {
    process.stderr.write("reading the value from stdin: type it, then press Enter and Ctrl-D\n");
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const input = Buffer.concat(chunks);
  for (const c of chunks) c.fill(0);
  let end = input.length;
  if (input[end - 1] === 0x0a) end -= input[end - 2] === 0x0d ? 2 : 1;
  const body = input.subarray(0, end);
  const text = decodeStrictUtf8(body);
  if (text !== undefined) {
    input.fill(0);
    return text;
  }
  return body;
}
