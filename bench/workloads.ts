import type { KeySpace } from "./key-space.js";
import {
  BATCH_SIZE,
  batchGetBody,
  getValueBody,
  type Op,
  type RequestBody,
  setValueBody,
} from "./request-bodies.js";

/** The rows' workloads. */
export type Workload = "get" | "set" | "batch" | "mix";

/** Every workload, in report order. */
export const WORKLOADS: readonly Workload[] = ["get", "set", "batch", "mix"];

/** How the report names each workload. */
export const WORKLOAD_TITLES: Readonly<Record<Workload, string>> = {
  get: "GetValue",
  set: "SetValue",
  batch: "BatchGet×100",
  mix: "mix 90/10",
};

/** Share of the concurrency given to writes in the mix. */
export const MIX_SET_SHARE = 0.1;

/** One load generator process: what it sends and how many calls it keeps in flight. */
export interface GeneratorPlan {
  readonly op: Op;
  readonly streams: number;
}

/**
 * Splits a row's concurrency over generator processes. Each process repeats one
 * body, so more processes means more distinct keys; at most `maxGenerators` per
 * operation keeps the generators' own CPU small. The mix runs get and set
 * generators side by side, concurrency split 90/10 (at least one each, so the
 * mix at concurrency 1 keeps two calls in flight).
 *
 * @throws RangeError for a concurrency or generator count below 1.
 * @example
 * planGenerators("get", 64, 8); // 8 × { op: "get", streams: 8 }
 * planGenerators("mix", 16, 8); // get 14 calls over 8 processes, set 2 over 2
 */
export function planGenerators(
  workload: Workload,
  concurrency: number,
  maxGenerators: number,
): GeneratorPlan[] {
  if (concurrency < 1 || maxGenerators < 1) {
    throw new RangeError(
      `concurrency and generators must be ≥ 1, got ${concurrency}, ${maxGenerators}`,
    );
  }
  if (workload !== "mix") return split(workload, concurrency, maxGenerators);
  const sets = Math.max(1, Math.round(concurrency * MIX_SET_SHARE));
  const gets = Math.max(1, concurrency - sets);
  return [
    ...split("get", gets, maxGenerators),
    ...split("set", sets, Math.max(1, Math.ceil(maxGenerators / 4))),
  ];
}

/**
 * One request body per generator, each naming different preloaded entries:
 * reads spread over the key space, each writer overwriting its own entry,
 * each batch asking for its own 100 entries. `seed` shifts the choice so that
 * successive rows touch different rows of the table.
 *
 * @throws RangeError if the key space is too small for the plan.
 * @example
 * const bodies = requestBodies(plans, space, rowNumber);
 */
export function requestBodies(
  plans: readonly GeneratorPlan[],
  space: KeySpace,
  seed: number,
): RequestBody[] {
  const count = (op: Op): number => plans.filter((p) => p.op === op).length;
  const base = seed * 7919;
  const gets = space.spread(Math.max(1, count("get")), base);
  const sets = space.spread(Math.max(1, count("set")), base + Math.floor(space.size / 2) + 1);
  const used = { get: 0, set: 0, batch: 0 };
  return plans.map((plan) => {
    const n = used[plan.op]++;
    if (plan.op === "get") return getValueBody(space, gets[n] as number);
    if (plan.op === "set") return setValueBody(space, sets[n] as number);
    return batchGetBody(space, space.spread(BATCH_SIZE, base + n * 13 + 1));
  });
}

function split(op: Op, concurrency: number, maxProcesses: number): GeneratorPlan[] {
  const processes = Math.min(concurrency, maxProcesses);
  return Array.from({ length: processes }, (_, i) => ({
    op,
    streams: Math.floor(concurrency / processes) + (i < concurrency % processes ? 1 : 0),
  }));
}
