import { statSync } from "node:fs";
import type { DatabaseLocation } from "../storage/database-location.js";
import { CliError } from "./cli-output.js";

/**
 * A database named on the command line: a postgres:// URL, a data directory
 * (its hexclave.db), or — where a single file is allowed — an SQLite file.
 *
 * @throws CliError saying what the flag accepts.
 * @example
 * const from = databaseLocation(flags.from, "--from", { file: true });
 */
export function databaseLocation(
  text: string,
  flag: string,
  options: { readonly file?: boolean } = {},
): DatabaseLocation {
  if (/^postgres(ql)?:\/\//.test(text)) return { kind: "postgres", url: text };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw new CliError(`${flag} must be a postgres:// URL or a data directory, got another URL`);
  }
  let isFile = false;
  try {
    isFile = statSync(text).isFile();
  } catch {
    // Not there yet: a data directory to create (as a target).
  }
  if (isFile) {
    if (options.file === true) return { kind: "sqlite-file", file: text };
    throw new CliError(
      `${flag} ${text} is a file: give the data directory holding hexclave.db, or a postgres:// URL`,
    );
  }
  return { kind: "sqlite", dataDir: text };
}
