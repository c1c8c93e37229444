import { assertAs, assertKeyName, assertOptions } from "./client-assertions.js";
import type { ReadOptions } from "./client-options.js";
import { DecryptionError, HexclaveError } from "./hexclave-error.js";
import { type Candidate, candidatesFor, decodeValue, openEntry } from "./sealed-values.js";
import type { StoreContext } from "./store-context.js";
import type { Entry } from "./vault-rpc.js";
import { MAX_BATCH_REFS } from "./wire-limits.js";

interface KeyGroup {
  readonly name: string;
  /** The key's refs under the current secret, then each previous one. */
  readonly candidates: readonly Candidate[];
}

/**
 * The body of `DataVaultStore.getValues()`: every key under every secret of
 * the call in one BatchGetValues, split only past the server's 1,000 refs per
 * call (or if the values would not fit one response), each key's newest copy
 * (highest version: the one written last, whichever secret wrote it) opened.
 *
 * @throws HexclaveError (INVALID_ARGUMENT, UNKNOWN_SECRET, DECRYPTION_FAILED, …).
 * @example
 * const found = await getValues(ctx, ["gh:1", "gh:2"], { secret });
 */
export async function getValues(
  ctx: StoreContext,
  keys: readonly string[],
  options: ReadOptions,
): Promise<Map<string, string | Uint8Array>> {
  if (!Array.isArray(keys)) {
    throw new HexclaveError("INVALID_ARGUMENT", `"keys" must be an array of key names`);
  }
  for (const [i, k] of keys.entries()) assertKeyName(`keys[${i}]`, k);
  assertOptions(options);
  assertAs(options.as);
  const names = [...new Set(keys)];
  const found = new Map<string, string | Uint8Array>();
  if (names.length === 0) return found;
  const callKeys = await ctx.callKeys(options);
  const groups = names.map((name) => ({ name, candidates: candidatesFor(callKeys, name) }));
  const perChunk = Math.floor(MAX_BATCH_REFS / (1 + callKeys.previous.length));
  for (let i = 0; i < groups.length; i += perChunk) {
    const chunk = groups.slice(i, i + perChunk);
    const byId = await batchGet(ctx, chunk);
    for (const { name, candidates } of chunk) {
      const entry = newestFound(candidates, byId);
      if (entry !== undefined) {
        found.set(name, decodeValue(openEntry(candidates, entry), options.as ?? "text"));
      }
    }
  }
  return found;
}

/**
 * One BatchGetValues for a chunk of keys; halves it if the response would be too large.
 *
 * @throws DecryptionError if the server answers with an entry under a key id nobody asked
 *   for: a genuine entry of another key, passed off as an answer (docs/sealing.md §9.2).
 */
async function batchGet(
  ctx: StoreContext,
  chunk: readonly KeyGroup[],
): Promise<Map<string, Entry>> {
  try {
    const refs = chunk.flatMap((g) => g.candidates.map((c) => c.ref));
    const entries = await ctx.rpc.batchGetValues({ storeId: ctx.storeId, keys: refs });
    const asked = new Set(refs.map((r) => r.keyId.toString("hex")));
    const byId = new Map(entries.map((e) => [e.keyId.toString("hex"), e]));
    for (const id of byId.keys()) if (!asked.has(id)) throw new DecryptionError();
    return byId;
  } catch (error) {
    const tooLarge = error instanceof HexclaveError && error.reason === "RESPONSE_TOO_LARGE";
    if (!tooLarge || chunk.length < 2) throw error;
    const half = Math.ceil(chunk.length / 2);
    const first = await batchGet(ctx, chunk.slice(0, half));
    const second = await batchGet(ctx, chunk.slice(half));
    return new Map([...first, ...second]);
  }
}

/** Of a key's copies under the call's secrets, the one written last (versions are store-wide). */
function newestFound(
  candidates: readonly Candidate[],
  byId: ReadonlyMap<string, Entry>,
): Entry | undefined {
  let found: Entry | undefined;
  for (const c of candidates) {
    const entry = byId.get(c.ref.keyId.toString("hex"));
    if (entry !== undefined && (found === undefined || entry.version > found.version))
      found = entry;
  }
  return found;
}
