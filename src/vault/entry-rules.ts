import { AT_REST_OVERHEAD } from "../crypto/at-rest.js";
import type { ValidKeyRef } from "./assertions.js";
import type { EntryRow } from "./storage-port.js";
import { VaultError } from "./vault-error.js";

/**
 * How an entry named by several key refs (its key under the current secret,
 * then under previous ones) is read and versioned. Shared by the read path
 * and the write commands so both see one entry the same way.
 *
 * Versions are store-wide and increasing (each write takes the store's next
 * number), so among an entry's copies the highest version is the one written
 * last, whichever secret wrote it; and a check-and-set against that version
 * fails if any copy changed since it was read.
 */

/** The copy written last: the row with the highest version. */
export function newest(rows: readonly EntryRow[]): EntryRow | undefined {
  let found: EntryRow | undefined;
  for (const row of rows) if (found === undefined || row.version > found.version) found = row;
  return found;
}

/** The distinct key ids of `refs`, in order. */
export function uniqueKeyIds(refs: readonly ValidKeyRef[]): Buffer[] {
  const seen = new Map<string, Buffer>();
  for (const r of refs) seen.set(r.keyId.toString("latin1"), r.keyId);
  return [...seen.values()];
}

/**
 * Asserts a check-and-set's expected version (0: must not exist).
 *
 * @throws VaultError VERSION_CONFLICT with the current version.
 */
export function checkVersion(current: EntryRow | undefined, expected: number | undefined): void {
  if (expected === undefined) return;
  const actual = current?.version ?? 0;
  if (actual === expected) return;
  throw new VaultError(
    "VERSION_CONFLICT",
    expected === 0
      ? `the entry already exists (version ${actual}); nothing was written`
      : `the entry is at version ${actual}, not ${expected}; read it again and retry`,
    { metadata: { expected_version: String(expected), current_version: String(actual) } },
  );
}

/** A stored entry's size as the client sent it: total_value_bytes counts sealed values, not at-rest overhead. */
export function sealedSize(row: EntryRow): number {
  return row.blob.length - AT_REST_OVERHEAD;
}

/** The error for a store that does not exist (or stopped existing): one message everywhere. */
export function storeNotFound(id: string): VaultError {
  return new VaultError(
    "STORE_NOT_FOUND",
    `store "${id}" does not exist: an admin creates it with "hexclave stores create ${id}"`,
    { metadata: { store_id: id } },
  );
}
