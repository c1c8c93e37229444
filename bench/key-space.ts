import type { KeyRef } from "../gen/hexclave/v1/types.js";
import { computeKeyId } from "../src/crypto/key-id.js";
import type { StoreKeys } from "../src/crypto/store-keys.js";
import { keyName } from "./token-values.js";

/**
 * The preloaded entries of one store, as the client that wrote them knows
 * them: entry i is named {@link keyName}(i) and sealed under `keys`. The bench
 * derives the key ids itself, exactly as the SDK does, to pre-encode requests.
 */
export class KeySpace {
  readonly storeId: string;
  readonly keys: StoreKeys;
  /** Entries 0 … size−1 exist. */
  readonly size: number;

  constructor(storeId: string, keys: StoreKeys, size: number) {
    this.storeId = storeId;
    this.keys = keys;
    this.size = size;
  }

  /**
   * The key ref the SDK would send for entry `index`.
   *
   * @throws RangeError for an index outside the preloaded entries.
   * @example
   * const ref = space.ref(42); // { keyId: HMAC(k_id, "user:42:oauth"), secretFingerprint }
   */
  ref(index: number): KeyRef {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new RangeError(`entry index must be in 0…${this.size - 1}, got ${index}`);
    }
    return {
      keyId: computeKeyId(this.keys, keyName(index)),
      secretFingerprint: this.keys.fingerprint,
    };
  }

  /**
   * `count` distinct entry indices spread evenly over the key space, shifted
   * by `offset` so that successive rows (and the get and set sides of a mix)
   * touch different rows of the table.
   *
   * @throws RangeError if more indices are asked for than entries exist.
   * @example
   * space.spread(4, 0); // [0, 25000, 50000, 75000] for 100,000 entries
   */
  spread(count: number, offset: number): number[] {
    if (count > this.size) {
      throw new RangeError(`asked for ${count} distinct entries, only ${this.size} exist`);
    }
    const step = this.size / count;
    const shift = Math.floor(offset) % this.size;
    return Array.from({ length: count }, (_, i) => (Math.floor(i * step) + shift) % this.size);
  }
}
