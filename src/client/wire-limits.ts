/**
 * The server's limits the client plans around (src/vault/limits.ts holds the
 * server's copy; test/client/wire-limits.test.ts keeps the two in step). The
 * client must not import the server's module: its entry point would then
 * depend on server code.
 */

/** Key refs in one BatchGetValues call. */
export const MAX_BATCH_REFS = 1000;

/** Entries per ListEntries page, at most. */
export const MAX_PAGE_SIZE = 1000;

/** The most the server puts in one response (a BatchGetValues of large values). */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/**
 * The channel's receive limit: a full response plus protobuf framing of up to
 * 1,000 entries (ids, fingerprints, versions, times), with room to spare.
 * grpc-js's default of 4 MiB would fail a batch of large values.
 */
export const MAX_RECEIVE_MESSAGE_BYTES = MAX_RESPONSE_BYTES + 1024 * 1024;

/**
 * A page size whose page of full-size values fits in one response, so a
 * store with large values can still be listed: 256 for the default 64 KiB
 * limit, 31 for 1 MiB values.
 *
 * @example
 * const pageSize = safePageSize(store.maxValueBytes);
 */
export function safePageSize(maxValueBytes: number): number {
  // 256 bytes per entry covers the at-rest overhead and the protobuf fields around the blob.
  const fit = Math.floor(MAX_RESPONSE_BYTES / (maxValueBytes + 256));
  return Math.max(1, Math.min(256, fit));
}
