import { masterKeyId, unwrapDataKey } from "../crypto/at-rest.js";
import type { StoreRow } from "./storage-port.js";
import { VaultError } from "./vault-error.js";

/**
 * Stores' data keys, unwrapped once and kept in memory by store uid, so no
 * call pays for unwrapping. Each store names the master key its data key is
 * wrapped under; the ring holds every master key this server accepts (the
 * current one, and previous ones while a master-key rotation runs). Keys
 * are zeroed when dropped.
 *
 * @example
 * const ring = new DataKeyRing([currentMasterKey, previousMasterKey]);
 * const dataKey = ring.keyFor(storeRow);
 */
export class DataKeyRing {
  readonly #masterKeys: Map<string, Buffer>;
  readonly #keys = new Map<string, Buffer>();

  constructor(masterKeys: readonly Buffer[]) {
    this.#masterKeys = new Map(masterKeys.map((k) => [masterKeyId(k).toString("hex"), k]));
  }

  /**
   * The store's data key.
   *
   * @throws VaultError DATA_CORRUPTED if the wrapped key does not open under the master key.
   */
  keyFor(row: StoreRow): Buffer {
    const uid = row.uid.toString("latin1");
    let key = this.#keys.get(uid);
    if (key === undefined) {
      const masterKey = this.#masterKeys.get(row.masterKeyId.toString("hex"));
      if (masterKey === undefined) {
        throw new VaultError(
          "DATA_CORRUPTED",
          `the key of store "${row.id}" is wrapped under master key ${row.masterKeyId.toString("hex")}, which this server was not given`,
        );
      }
      try {
        key = unwrapDataKey(masterKey, row.id, row.wrappedKey);
      } catch (cause) {
        throw new VaultError("DATA_CORRUPTED", `the key of store "${row.id}" cannot be unwrapped`, {
          cause,
        });
      }
      this.#keys.set(uid, key);
    }
    return key;
  }

  /** Zeroes and forgets a store's key, e.g. once the store is deleted. */
  drop(storeUid: Buffer): void {
    const uid = storeUid.toString("latin1");
    this.#keys.get(uid)?.fill(0);
    this.#keys.delete(uid);
  }

  /** Zeroes and forgets every key. */
  clear(): void {
    for (const key of this.#keys.values()) key.fill(0);
    this.#keys.clear();
  }
}
