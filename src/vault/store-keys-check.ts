import { masterKeyId, unwrapDataKey } from "../crypto/at-rest.js";
import type { StorageReads } from "./storage-port.js";

/**
 * Checks that every live store's data key unwraps under one of the given
 * master keys, without reading an entry: what `restore` asks before it
 * writes anything, and `backup verify` when given a key. Each problem names
 * the store and the master key id it needs; no key material is in it.
 *
 * @returns one line per store that would not open; empty when all do.
 * @example
 * const problems = await checkStoreKeys(reads, [masterKey]);
 * if (problems.length > 0) throw new Error(problems[0]);
 */
export async function checkStoreKeys(
  reads: StorageReads,
  masterKeys: readonly Buffer[],
): Promise<string[]> {
  const byId = new Map(masterKeys.map((k) => [masterKeyId(k).toString("hex"), k]));
  const given = [...byId.keys()].join(", ");
  const problems: string[] = [];
  for (const store of await reads.listStores()) {
    const id = store.masterKeyId.toString("hex");
    const key = byId.get(id);
    if (key === undefined) {
      problems.push(
        `store "${store.id}" is wrapped under master key ${id}, which was not given (given: ${given})`,
      );
      continue;
    }
    try {
      unwrapDataKey(key, store.id, store.wrappedKey).fill(0);
    } catch {
      problems.push(
        `the data key of store "${store.id}" does not open under master key ${id}: the row was altered`,
      );
    }
  }
  return problems;
}
