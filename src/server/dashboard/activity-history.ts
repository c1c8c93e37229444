import type { Registry } from "prom-client";

/** One point of the Activity charts covers this much time. */
export const SLOT_MS = 5_000;
/** The charts go back this many slots: 15 minutes. */
export const HISTORY_SLOTS = 180;

/** The calls that ended in one slot (wall-clock `slot × SLOT_MS` onwards). */
export interface ActivitySlot {
  readonly slot: number;
  readonly calls: number;
  /** Calls that ended with another status than OK. */
  readonly errors: number;
  /** Calls per latency bucket (not cumulative), in the order of `bounds`. */
  readonly buckets: readonly number[];
}

/** What one process remembers: its slots and the latency buckets' upper bounds (seconds). */
export interface ActivityRecord {
  readonly bounds: readonly number[];
  readonly slots: readonly ActivitySlot[];
}

interface Totals {
  readonly calls: number;
  readonly errors: number;
  /** Cumulative count per upper bound. */
  readonly cumulative: ReadonlyMap<number, number>;
}

/**
 * The last 15 minutes of this process's calls, for the Activity charts, read
 * from the server's own Prometheus metrics (hexclave_calls_total and
 * hexclave_call_duration_seconds — the numbers /metrics serves) at every
 * 5-second boundary of the wall clock, so the slots of the processes of a
 * `--workers` group line up and add up. Reading the two families costs
 * microseconds and touches no database.
 *
 * @example
 * const history = new ActivityHistory(metrics.registry);
 * history.start();
 * const record = history.record();
 */
export class ActivityHistory {
  readonly #registry: Registry;
  readonly #slots: ActivitySlot[] = [];
  #bounds: readonly number[] = [];
  #previous: Totals | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(registry: Registry) {
    this.#registry = registry;
  }

  /** Starts sampling at the next slot boundary. */
  start(): void {
    void this.#read().then((totals) => {
      this.#previous = totals;
    });
    this.#schedule();
  }

  /** Stops sampling (at shutdown). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** The slots remembered, oldest first. */
  record(): ActivityRecord {
    return { bounds: this.#bounds, slots: [...this.#slots] };
  }

  #schedule(): void {
    if (this.#stopped) return;
    const now = Date.now();
    const next = (Math.floor(now / SLOT_MS) + 1) * SLOT_MS;
    this.#timer = setTimeout(() => {
      void this.#sample(next / SLOT_MS - 1).finally(() => this.#schedule());
    }, next - now);
    this.#timer.unref();
  }

  async #sample(slot: number): Promise<void> {
    const totals = await this.#read();
    const previous = this.#previous;
    this.#previous = totals;
    if (previous === undefined) return;
    const bounds = [...totals.cumulative.keys()].sort((a, b) => a - b);
    this.#bounds = bounds;
    let below = 0;
    let belowBefore = 0;
    const buckets = bounds.map((bound) => {
      const now = totals.cumulative.get(bound) ?? 0;
      const before = previous.cumulative.get(bound) ?? 0;
      const count = now - below - (before - belowBefore);
      below = now;
      belowBefore = before;
      return Math.max(0, count);
    });
    this.#slots.push({
      slot,
      calls: Math.max(0, totals.calls - previous.calls),
      errors: Math.max(0, totals.errors - previous.errors),
      buckets,
    });
    while (this.#slots.length > HISTORY_SLOTS) this.#slots.shift();
  }

  async #read(): Promise<Totals> {
    const calls = await this.#registry.getSingleMetric("hexclave_calls_total")?.get();
    const latency = await this.#registry.getSingleMetric("hexclave_call_duration_seconds")?.get();
    let total = 0;
    let errors = 0;
    for (const v of calls?.values ?? []) {
      total += v.value;
      if (v.labels.code !== "OK") errors += v.value;
    }
    const cumulative = new Map<number, number>();
    for (const v of (latency?.values ?? []) as {
      value: number;
      labels: Record<string, unknown>;
      metricName?: string;
    }[]) {
      if (v.metricName !== "hexclave_call_duration_seconds_bucket") continue;
      const le = v.labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(v.labels.le);
      cumulative.set(le, (cumulative.get(le) ?? 0) + v.value);
    }
    return { calls: total, errors, cumulative };
  }
}

/** The charts' series: one point per slot, oldest first, ending with the last complete slot. */
export interface ActivitySeries {
  /** When the first slot starts (Unix ms). */
  readonly from: number;
  readonly callsPerSecond: readonly number[];
  readonly errorsPerSecond: readonly number[];
  /** The 99th percentile latency in milliseconds; null for a slot without calls. */
  readonly p99Ms: readonly (number | null)[];
}

/**
 * Adds up the records of several processes (a `--workers` group) slot by
 * slot and turns them into the charts' series.
 *
 * @example
 * const series = activitySeries([history.record()], Date.now());
 */
export function activitySeries(records: readonly ActivityRecord[], now: number): ActivitySeries {
  const last = Math.floor(now / SLOT_MS) - 1;
  const first = last - HISTORY_SLOTS + 1;
  const bounds = records.find((r) => r.bounds.length > 0)?.bounds ?? [];
  const calls = new Array<number>(HISTORY_SLOTS).fill(0);
  const errors = new Array<number>(HISTORY_SLOTS).fill(0);
  const buckets = Array.from({ length: HISTORY_SLOTS }, () =>
    new Array<number>(bounds.length).fill(0),
  );
  for (const record of records) {
    const sameBounds = record.bounds.length === bounds.length;
    for (const s of record.slots) {
      const i = s.slot - first;
      if (i < 0 || i >= HISTORY_SLOTS) continue;
      calls[i] = (calls[i] ?? 0) + s.calls;
      errors[i] = (errors[i] ?? 0) + s.errors;
      const row = buckets[i] as number[];
      if (!sameBounds) continue;
      s.buckets.forEach((n, b) => {
        row[b] = (row[b] ?? 0) + n;
      });
    }
  }
  const perSecond = 1000 / SLOT_MS;
  return {
    from: first * SLOT_MS,
    callsPerSecond: calls.map((n) => n * perSecond),
    errorsPerSecond: errors.map((n) => n * perSecond),
    p99Ms: buckets.map((row) => quantile(0.99, bounds, row)),
  };
}

/**
 * A quantile from bucket counts, as Prometheus's histogram_quantile computes
 * it: linear within the bucket it falls in; the highest finite bound if it
 * falls in the last (+Inf) bucket; null without any count.
 *
 * @example
 * quantile(0.99, [0.001, 0.01, Infinity], [90, 10, 0]); // ≈ 9.1 (ms)
 */
export function quantile(
  q: number,
  bounds: readonly number[],
  counts: readonly number[],
): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < bounds.length; i++) {
    const count = counts[i] ?? 0;
    const upper = bounds[i] as number;
    const lower = i === 0 ? 0 : (bounds[i - 1] as number);
    if (seen + count >= rank && count > 0) {
      if (!Number.isFinite(upper)) return lower * 1000;
      return (lower + ((rank - seen) / count) * (upper - lower)) * 1000;
    }
    seen += count;
  }
  const finite = bounds.filter((b) => Number.isFinite(b));
  return (finite[finite.length - 1] ?? 0) * 1000;
}
