import type { DataVaultStore } from "../client/data-vault-store.js";
import { HexclaveClient } from "../client/hexclave-client.js";
import { assertSecret } from "../crypto/secret-strength.js";
import { CliError } from "./cli-output.js";
import { resolveAddress, resolveToken } from "./client-options.js";
import { cliTls } from "./tls-options.js";

/** Where client commands read the store secret. Never a flag: flags land in shell history. */
export const SECRET_ENV = "HEXCLAVE_SECRET";
/** The secret in use before HEXCLAVE_SECRET, during a rotation. */
export const PREVIOUS_SECRET_ENV = "HEXCLAVE_PREVIOUS_SECRET";

/**
 * The store secret from HEXCLAVE_SECRET.
 *
 * @throws CliError saying how to provide (or make) one.
 * @example
 * const secret = requireSecret();
 */
export function requireSecret(): string {
  const secret = process.env[SECRET_ENV];
  if (secret === undefined || secret === "") {
    throw new CliError(
      `set ${SECRET_ENV} to the store's secret (make a new one with "hexclave secret generate"); ` +
        "it is read only from the environment, so it never lands in shell history",
    );
  }
  return checkedSecret(secret, SECRET_ENV);
}

/**
 * The secret if it passes the rules every secret must (docs/sealing.md §3.1),
 * checked here so the message names the variable it came from rather than
 * the SDK's `"secret"` option.
 *
 * @throws CliError WEAK_SECRET or INVALID_ARGUMENT naming `variable`.
 */
function checkedSecret(secret: string, variable: string): string {
  try {
    assertSecret(secret);
    return secret;
  } catch (error) {
    const { code, message } = error as { code?: unknown; message: string };
    const named = message.replace(/^"secret"/, variable);
    if (code === "WEAK_SECRET") throw new CliError(`WEAK_SECRET: ${named}`);
    if (code === "INVALID_INPUT") throw new CliError(`INVALID_ARGUMENT: ${named}`);
    throw error;
  }
}

/**
 * The previous secret from HEXCLAVE_PREVIOUS_SECRET, if set.
 *
 * @example
 * const previous = previousSecret();
 */
export function previousSecret(): string | undefined {
  const secret = process.env[PREVIOUS_SECRET_ENV];
  return secret === undefined || secret === ""
    ? undefined
    : checkedSecret(secret, PREVIOUS_SECRET_ENV);
}

/**
 * The `{ secret, previousSecrets }` options from the environment.
 *
 * @throws CliError if HEXCLAVE_SECRET is unset.
 * @example
 * await store.getValue(key, secretOptions());
 */
export function secretOptions(): { secret: string; previousSecrets: string[] } {
  const previous = previousSecret();
  return { secret: requireSecret(), previousSecrets: previous === undefined ? [] : [previous] };
}

/** Retries for CLI calls: about a second in all, then the error. */
const CLI_RETRY = { maxAttempts: 4, initialBackoffMs: 150, maxBackoffMs: 600 } as const;

/**
 * Runs `work` on a store opened with --address/--token (or their environment
 * variables), closing the client after.
 *
 * @throws HexclaveError from the client; CliError for missing settings.
 * @example
 * await withStore(flags, "oauth-tokens", (store) => store.getValue("gh:42", secretOptions()));
 */
export async function withStore<T>(
  flags: { address?: string | undefined; token?: string | undefined },
  storeId: string,
  work: (store: DataVaultStore) => Promise<T>,
): Promise<T> {
  const tls = cliTls();
  const client = new HexclaveClient({
    address: resolveAddress(flags),
    token: resolveToken(flags),
    ...(tls === undefined ? {} : { tls }),
    // A person is waiting: say at once that the server cannot be reached, after a short
    // retry that rides out a restart already under way.
    waitForReady: false,
    retry: CLI_RETRY,
  });
  try {
    return await work(await client.getDataVaultStore(storeId));
  } finally {
    client.close();
  }
}

/**
 * Parses a non-negative integer flag.
 *
 * @throws CliError naming the flag.
 * @example
 * const ifVersion = parseVersionFlag(flags.ifVersion, "--if-version");
 */
export function parseIntegerFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,15}$/.test(value)) {
    throw new CliError(`${flag} must be a whole number ≥ 0, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}
