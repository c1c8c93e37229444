import { assertAs, assertOptions, assertPositiveInt } from "./client-assertions.js";
import type { EntriesOptions, ListedEntry } from "./client-options.js";
import type { HexclaveError } from "./hexclave-error.js";
import { decodeValue, openListed } from "./sealed-values.js";
import type { StoreContext } from "./store-context.js";
import { toHexclaveError } from "./to-hexclave-error.js";
import { MAX_PAGE_SIZE, safePageSize } from "./wire-limits.js";

/**
 * The body of `DataVaultStore.entries()`: streams the entries under each of
 * the call's secrets in turn (current first) and opens them here.
 *
 * With previous secrets, the names already yielded are remembered, so an entry
 * that exists under both an old and the new secret (a write that did not name
 * the old one) is yielded once, as the current secret's copy. That costs
 * memory for the names; without previous secrets nothing is remembered.
 *
 * @throws HexclaveError from the iteration.
 * @example
 * for await (const e of listEntries(ctx, { secret })) console.log(e.key);
 */
export async function* listEntries(
  ctx: StoreContext,
  options: EntriesOptions,
): AsyncGenerator<ListedEntry<string | Uint8Array>> {
  try {
    assertOptions(options);
    assertAs(options.as);
    const pageSize = options.pageSize ?? safePageSize(ctx.maxValueBytes);
    assertPositiveInt("pageSize", pageSize, MAX_PAGE_SIZE);
    const keys = await ctx.callKeys(options);
    const as = options.as ?? "text";
    const passes = [keys.current, ...keys.previous];
    const seen = passes.length > 1 ? new Set<string>() : undefined;
    let unknown: HexclaveError | undefined;
    let listed = 0;
    for (const secretKeys of passes) {
      try {
        const pages = ctx.rpc.listEntries({
          storeId: ctx.storeId,
          secretFingerprints: [secretKeys.fingerprint],
          startAfterKeyId: Buffer.alloc(0),
          pageSize,
        });
        for await (const page of pages) {
          for (const entry of page) {
            const opened = openListed(keys, entry);
            if (seen !== undefined) {
              if (seen.has(opened.keyName)) {
                opened.value.fill(0);
                continue;
              }
              seen.add(opened.keyName);
            }
            const { keyName, writtenAt, kind } = opened;
            yield {
              key: keyName,
              value: decodeValue(opened, as),
              version: entry.version,
              writtenAt: new Date(writtenAt),
              expiresAt: entry.expireTime ?? null,
              storedAs: kind,
            };
          }
        }
        listed++;
      } catch (error) {
        const typed = toHexclaveError(error);
        // A retired previous secret has no entries left: skip it, as getValue would.
        if (typed.code !== "UNKNOWN_SECRET" || passes.length === 1) throw typed;
        unknown ??= typed;
      }
    }
    if (listed === 0 && unknown !== undefined) throw unknown;
  } catch (error) {
    if (ctx.rpc.closed) ctx.rpc.assertOpen();
    throw toHexclaveError(error);
  }
}
