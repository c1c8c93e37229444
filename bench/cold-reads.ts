import { GetValueResponse } from "../gen/hexclave/v1/vault_service.js";
import type { KeySpace } from "./key-space.js";
import type { RawCaller } from "./raw-caller.js";
import { getValueBody } from "./request-bodies.js";
import { percentile } from "./stats.js";

/** GetValue latency of entries never read before: the storage path, not the entry cache. */
export interface ColdReads {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/**
 * Reads `count` distinct entries that no row has read yet, one at a time.
 * The server's entry cache is filled by reads only, so each of these misses
 * it: the SQLite point read and the at-rest open are in every call. (The
 * h2load rows repeat a few keys, so after their first call they measure the
 * cache.) Latency includes the bench's grpc-js client, the same at every size.
 *
 * @throws Error if a read fails or finds no entry.
 * @example
 * const cold = await measureColdReads(caller, space, 2000, 7);
 */
export async function measureColdReads(
  caller: RawCaller,
  space: KeySpace,
  count: number,
  seed: number,
): Promise<ColdReads> {
  const picked = new Set<number>();
  let state = seed >>> 0 || 1;
  // xorshift32: a repeatable spread over the key space, away from the rows' spread() keys.
  while (picked.size < Math.min(count, space.size)) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    picked.add((state >>> 0) % space.size);
  }
  const latencies = new Float64Array(picked.size);
  let i = 0;
  for (const index of picked) {
    const body = getValueBody(space, index);
    const started = performance.now();
    const response = GetValueResponse.decode(await caller.call(body.path, body.message));
    latencies[i++] = performance.now() - started;
    if (response.entry === undefined) throw new Error(`cold read of entry ${index} found nothing`);
  }
  latencies.sort();
  return {
    count: latencies.length,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}
