import type { KeyRef } from "../../gen/hexclave/v1/types.js";
import { computeKeyId } from "../crypto/key-id.js";
import { envelopeFingerprint, type OpenedValue, open } from "../crypto/open.js";
import type { StoreKeys } from "../crypto/store-keys.js";
import { decodeStrictUtf8 } from "../crypto/strict-utf8.js";
import { DecryptionError, HexclaveError } from "./hexclave-error.js";
import type { Entry } from "./vault-rpc.js";

/**
 * The link between key names and what the server sees: key refs per secret,
 * and opening what comes back. Every entry is opened under the key id this
 * client computed, never one the server names, so a server cannot pass one
 * entry off as another.
 */

/**
 * The keys one call may use: the current secret's first, then previous ones, each once.
 *
 * @example
 * const keys: CallKeys = await ctx.callKeys({ secret, previousSecrets: [old] });
 */
export interface CallKeys {
  readonly current: StoreKeys;
  /** Previous secrets' keys, in the caller's order, without duplicates or the current one. */
  readonly previous: readonly StoreKeys[];
}

/**
 * One way to name an entry: a secret's keys and the key ref they give.
 *
 * @example
 * const [own]: Candidate[] = candidatesFor(keys, "gh:42");
 */
export interface Candidate {
  readonly keys: StoreKeys;
  readonly ref: KeyRef;
}

/**
 * How a read hands values back.
 *
 * @example
 * const as: ValueAs = options.as ?? "text";
 */
export type ValueAs = "text" | "bytes";

/**
 * The refs naming `keyName` under each secret of the call, current first.
 *
 * @throws CryptoError INVALID_INPUT for a key name the format cannot hold.
 * @example
 * const [own, ...older] = candidatesFor(keys, "gh:42");
 */
export function candidatesFor(keys: CallKeys, keyName: string): Candidate[] {
  return [keys.current, ...keys.previous].map((k) => ({
    keys: k,
    ref: { keyId: computeKeyId(k, keyName), secretFingerprint: k.fingerprint },
  }));
}

/**
 * Opens an entry the server returned for one of `candidates`.
 *
 * @throws DecryptionError if the entry is not one asked for or does not open.
 * @example
 * const opened = openEntry(candidatesFor(keys, "gh:42"), entry);
 */
export function openEntry(candidates: readonly Candidate[], entry: Entry): OpenedValue {
  const match = candidates.find((c) => c.ref.keyId.equals(entry.keyId));
  if (match === undefined) throw new DecryptionError();
  return open(match.keys, match.ref.keyId, entry.sealedValue);
}

/**
 * Opens a listed entry: the key name is not known beforehand, so the entry's
 * own key id is used, and open() checks that the sealed name hashes to it.
 *
 * @throws DecryptionError if no key opens it.
 * @example
 * const opened = openListed(keys, entry);
 */
export function openListed(keys: CallKeys, entry: Entry): OpenedValue {
  // The fingerprint in the envelope's header is covered by its tag; the entry's field is not.
  const sealedUnder = envelopeFingerprint(entry.sealedValue);
  const owner =
    sealedUnder === undefined
      ? undefined
      : [keys.current, ...keys.previous].find((k) => k.fingerprint.equals(sealedUnder));
  if (owner === undefined) throw new DecryptionError();
  return open(owner, entry.keyId, entry.sealedValue);
}

/**
 * An opened value in the form the caller asked for; the plaintext buffer is zeroed.
 *
 * A value sealed as bytes is returned as text only if it is valid UTF-8: a
 * lossy decoding would hand back a different secret without a word.
 *
 * @throws HexclaveError INVALID_ARGUMENT when text is asked for and the bytes are not UTF-8.
 * @example
 * const token = decodeValue(open(keys, keyId, envelope), "text");
 */
export function decodeValue(opened: OpenedValue, as: "text"): string;
export function decodeValue(opened: OpenedValue, as: "bytes"): Uint8Array;
export function decodeValue(opened: OpenedValue, as: ValueAs): string | Uint8Array;
export function decodeValue(opened: OpenedValue, as: ValueAs): string | Uint8Array {
  const { value } = opened;
  try {
    if (as === "bytes") return new Uint8Array(value);
    if (opened.kind === "text") return value.toString("utf8");
    const text = decodeStrictUtf8(value);
    if (text === undefined) {
      throw new HexclaveError(
        "INVALID_ARGUMENT",
        'this value was stored as bytes that are not UTF-8 text: read it with { as: "bytes" }',
      );
    }
    return text;
  } finally {
    value.fill(0);
  }
}
