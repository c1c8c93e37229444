import { STORE_SALT_LENGTH } from "../crypto/format-v1.js";
import { assertStoreId } from "./client-assertions.js";
import { HexclaveError, StoreSaltChangedError } from "./hexclave-error.js";

/** Who decided what a store's salt must be. */
type PinnedBy = "configuration" | "first use";

interface Pin {
  readonly salt: Buffer;
  readonly pinnedBy: PinnedBy;
}

/**
 * The salt each store must have, for one client (docs/sealing.md §9.3).
 *
 * A store's salt comes from DescribeStore, and nothing authenticates it: a hostile server
 * could hand out a salt it precomputed guesses for, or change it to collect a fingerprint
 * under a salt of its choosing. A client cannot stop a server choosing the salt the first
 * time, but it can refuse a change: the first salt seen for a store id is pinned for the
 * client's life, and `storeSalts` pins salts before first use (a value recorded while the
 * server was trusted), which also covers new processes.
 *
 * @example
 * const pins = new StoreSaltPins({ "oauth-tokens": "q3…=" });
 * pins.check("oauth-tokens", store.salt); // throws StoreSaltChangedError on a mismatch
 */
export class StoreSaltPins {
  readonly #pins = new Map<string, Pin>();

  /**
   * @throws HexclaveError INVALID_ARGUMENT unless `configured` is undefined or an object
   *   from store ids to 32-byte salts in base64.
   */
  constructor(configured: unknown) {
    if (configured === undefined) return;
    if (typeof configured !== "object" || configured === null || Array.isArray(configured)) {
      throw new HexclaveError(
        "INVALID_ARGUMENT",
        `"storeSalts" must be an object from store ids to their salts in base64, e.g. { "oauth-tokens": store.salt }`,
      );
    }
    for (const [storeId, salt] of Object.entries(configured)) {
      try {
        assertStoreId(storeId);
      } catch (error) {
        throw new HexclaveError(
          "INVALID_ARGUMENT",
          `"storeSalts" has a key that is not a store id: ${(error as Error).message}`,
        );
      }
      this.#pins.set(storeId, { salt: decodeSalt(storeId, salt), pinnedBy: "configuration" });
    }
  }

  /**
   * Pins `salt` for `storeId` if nothing is pinned yet, else checks it is the pinned one.
   * Salts are public, so the comparison need not be constant-time.
   *
   * @throws StoreSaltChangedError if `salt` differs from the pinned salt.
   */
  check(storeId: string, salt: Buffer): void {
    const pin = this.#pins.get(storeId);
    if (pin === undefined) {
      this.#pins.set(storeId, { salt: Buffer.from(salt), pinnedBy: "first use" });
      return;
    }
    if (pin.salt.equals(salt)) return;
    const expected = pin.salt.toString("base64");
    const presented = salt.toString("base64");
    const what =
      pin.pinnedBy === "first use"
        ? `the server described store "${storeId}" with salt ${presented}, but it gave this client ${expected} before`
        : `the server described store "${storeId}" with salt ${presented}, but "storeSalts" pins ${expected}`;
    const fix =
      pin.pinnedBy === "first use"
        ? "make a new HexclaveClient, or restart, to use the new store"
        : `put its new salt in "storeSalts"`;
    throw new StoreSaltChangedError(
      `${what}. Nothing was read or written with it. Either the store was deleted and re-created under the same id (then ${fix}), or this is not the server you trust: check the address, TLS and the server`,
      {
        metadata: {
          store_id: storeId,
          expected_salt: expected,
          presented_salt: presented,
          pinned_by: pin.pinnedBy,
        },
      },
    );
  }
}

/** A configured salt: canonical padded base64 of exactly 32 bytes. */
function decodeSalt(storeId: string, salt: unknown): Buffer {
  const bytes = typeof salt === "string" ? Buffer.from(salt, "base64") : undefined;
  // Canonical: the text re-encodes to itself, so no two spellings pin one salt.
  if (bytes?.length !== STORE_SALT_LENGTH || bytes.toString("base64") !== salt) {
    throw new HexclaveError(
      "INVALID_ARGUMENT",
      `"storeSalts[${JSON.stringify(storeId)}]" must be the store's 32-byte salt in base64 (44 characters, as store.salt shows it)`,
    );
  }
  return bytes;
}
