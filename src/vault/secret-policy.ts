import type { ValidKeyRef } from "./assertions.js";
import type { SecretRow } from "./storage-port.js";
import { VaultError } from "./vault-error.js";

/**
 * The rules that turn a wrong secret into an error instead of a silent miss.
 * A store remembers the fingerprints of the secrets that wrote to it; a call
 * whose secrets it has never seen is refused with both sets of fingerprints,
 * so the operator sees at once that HEXCLAVE_SECRET is not the one in use.
 */

/**
 * Whether a read may proceed: the store knows none yet (nothing to find), or
 * knows at least one of the presented secrets.
 */
export function readAllowed(
  secrets: ReadonlyMap<string, SecretRow>,
  refs: readonly ValidKeyRef[],
): boolean {
  return secrets.size === 0 || refs.some((r) => secrets.has(r.fingerprint.toString("hex")));
}

/**
 * Decides a write under `key`'s secret. The first write to a store registers
 * its secret. A new secret is accepted only alongside a known previous one (the
 * caller is rotating); otherwise it is an unknown secret.
 *
 * @returns true if `key`'s secret must be registered by this write.
 * @throws VaultError UNKNOWN_SECRET.
 */
export function writeRegisters(
  storeId: string,
  secrets: ReadonlyMap<string, SecretRow>,
  key: ValidKeyRef,
  previous: readonly ValidKeyRef[],
): boolean {
  if (secrets.has(key.fingerprint.toString("hex"))) return false;
  if (secrets.size === 0) return true;
  if (previous.some((r) => secrets.has(r.fingerprint.toString("hex")))) return true;
  throw unknownSecret(storeId, [key, ...previous], secrets);
}

/**
 * The error for a call whose secrets the store does not know.
 *
 * @example
 * throw unknownSecret("oauth-tokens", refs, store.secrets);
 */
export function unknownSecret(
  storeId: string,
  refs: readonly ValidKeyRef[],
  secrets: ReadonlyMap<string, SecretRow>,
): VaultError {
  const presented = [...new Set(refs.map((r) => r.fingerprint.toString("hex")))];
  const registered = [...secrets.keys()];
  return new VaultError(
    "UNKNOWN_SECRET",
    `store "${storeId}" has never seen the secret with fingerprint ${presented.join(", ")} ` +
      `(it knows ${registered.join(", ")}): check HEXCLAVE_SECRET. To move to a new secret, ` +
      `pass the current one in previousSecrets or run "hexclave rotate-secret ${storeId}"`,
    {
      metadata: {
        store_id: storeId,
        presented: presented.join(","),
        registered: registered.join(","),
      },
    },
  );
}
