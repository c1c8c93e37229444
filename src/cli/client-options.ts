import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { CliError } from "./cli-output.js";

/** The address client commands dial by default (README.md, "Configuration"). */
export const DEFAULT_ADDRESS = "127.0.0.1:50051";

/** Adds `--address`. */
export function addressOption(command: Command): Command {
  return command.option(
    "--address <address>",
    `server address (HEXCLAVE_ADDRESS; default ${DEFAULT_ADDRESS})`,
  );
}

/** Adds `--address` and `--token`. */
export function connectionOptions(command: Command): Command {
  return addressOption(command).option(
    "--token <token>",
    "access token (HEXCLAVE_TOKEN; default: the first admin token in ./.hexclave/admin.token if readable)",
  );
}

/**
 * The address to dial: flag, then HEXCLAVE_ADDRESS, then — for a command run
 * beside the server, in its own container (`docker exec <c> hexclave …`, the
 * HEALTHCHECK) — the server's HEXCLAVE_LISTEN (a wildcard host is dialled on
 * loopback), then the default.
 */
export function resolveAddress(flags: { address?: string | undefined }): string {
  const listen = nonEmpty(process.env.HEXCLAVE_LISTEN)
    ?.replace(/^0\.0\.0\.0:/, "127.0.0.1:")
    .replace(/^\[::\]:/, "[::1]:");
  return flags.address ?? nonEmpty(process.env.HEXCLAVE_ADDRESS) ?? listen ?? DEFAULT_ADDRESS;
}

/**
 * The token to send: flag, then HEXCLAVE_TOKEN, then — beside the server, in
 * its own container — the admin token the server was given
 * (HEXCLAVE_ADMIN_TOKEN), or the first admin token it wrote into its data
 * directory (also what a development server on its defaults does).
 *
 * @throws CliError saying where a token can come from.
 */
export function resolveToken(flags: { token?: string | undefined }): string {
  const given =
    flags.token ??
    nonEmpty(process.env.HEXCLAVE_TOKEN) ??
    nonEmpty(process.env.HEXCLAVE_ADMIN_TOKEN);
  if (given !== undefined) return given;
  const file = join(nonEmpty(process.env.HEXCLAVE_DATA_DIR) ?? ".hexclave", "admin.token");
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    throw new CliError(
      `no access token: set HEXCLAVE_TOKEN or pass --token (no ${file} to fall back on)`,
    );
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
