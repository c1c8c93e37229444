/**
 * Latency and throughput from per-request samples. Percentiles are
 * nearest-rank over every request completed in the measured window — no
 * histogram bucketing, no averaging of per-process percentiles.
 */

/** One completed request, from an h2load log. */
export interface RequestSample {
  /** When the request completed, in µs since the epoch. */
  readonly endUs: number;
  /** Its latency, in µs. */
  readonly latencyUs: number;
}

/** What a set of samples says. */
export interface LatencySummary {
  readonly requests: number;
  readonly opsPerSec: number;
  /** Milliseconds; NaN without samples. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/**
 * The nearest-rank percentile of sorted values.
 *
 * @throws never; NaN for no values.
 * @example
 * percentile(Float64Array.from([1, 2, 3, 4]), 50); // 2
 */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/**
 * Summarises the requests that completed inside [startUs, endUs).
 *
 * @throws never.
 * @example
 * const s = summarize(samples, windowStartUs, windowEndUs); // { opsPerSec: 15234, p50Ms: 0.98, … }
 */
export function summarize(
  samples: readonly RequestSample[],
  startUs: number,
  endUs: number,
): LatencySummary {
  const inWindow = samples.filter((s) => s.endUs >= startUs && s.endUs < endUs);
  const latencies = Float64Array.from(inWindow, (s) => s.latencyUs).sort();
  const seconds = (endUs - startUs) / 1e6;
  return {
    requests: inWindow.length,
    opsPerSec: seconds > 0 ? inWindow.length / seconds : 0,
    p50Ms: percentile(latencies, 50) / 1000,
    p99Ms: percentile(latencies, 99) / 1000,
    maxMs: latencies.length === 0 ? Number.NaN : (latencies[latencies.length - 1] as number) / 1000,
  };
}
