import { randomBytes } from "node:crypto";
import type { ServiceError, status } from "@grpc/grpc-js";
import { expect } from "vitest";
import type { KeyRef } from "../../gen/hexclave/v1/types.js";
import { bearer, call, type RawClients, reasonOf } from "./grpc-clients.js";
import { keyRef } from "./vault-fixtures.js";

/**
 * A stream of SetValue and GetValue calls against one store on one or more
 * servers, with a ledger of every acknowledgement: what tests of outages,
 * crashes and replicas drive while they break things, then check against.
 */

/** Per key: every value sent, and each acknowledged version with its value. */
export interface KeyLedger {
  readonly key: KeyRef;
  readonly values: Set<string>;
  readonly acks: Map<number, string>;
}

/** One call that did not succeed. */
export interface Failure {
  readonly op: "set" | "get";
  readonly code: status;
  readonly reason: string | undefined;
  readonly details: string;
  readonly at: number;
  /** Which server (index into the targets) it went to. */
  readonly target: number;
}

/** A running load. */
export interface WriteLoad {
  readonly ledger: ReadonlyMap<string, KeyLedger>;
  readonly failures: readonly Failure[];
  /** Successful calls so far, and the time of the last one. */
  readonly succeeded: { count: number; lastAt: number };
  /** When each successful call returned, in order. */
  readonly successTimes: readonly number[];
  /** Successful calls per target. */
  readonly succeededOn: number[];
  /** Servers the load no longer calls (e.g. one the test killed). */
  readonly skipped: Set<number>;
  /** Resolves once `done()` is true, checked after every call; rejects after `timeoutMs`. */
  until(done: () => boolean, timeoutMs?: number): Promise<void>;
  /** Stops the workers and resolves once every call in flight has settled. */
  stop(): Promise<void>;
}

/** Options of {@link startWriteLoad}. */
export interface WriteLoadOptions {
  readonly storeId: string;
  readonly token: string;
  readonly fingerprint: Buffer;
  /** Keys written, each many times. Default 40. */
  readonly keys?: number;
  /** Calls in flight at once. Default 6. */
  readonly concurrency?: number;
  /** A worker waits this long after a failed call, as a client backs off. Default 25 ms. */
  readonly backoffMs?: number;
  /** Deadline of each call. Default 10 s. */
  readonly deadlineMs?: number;
}

/**
 * Starts workers that write (two calls in three) and read (one in three)
 * random keys, each call on a random target not in `skipped`. A read must
 * return the newest write acknowledged before it started, or a newer one.
 *
 * @example
 * const load = startWriteLoad([c], { storeId, token, fingerprint });
 * await load.until(() => load.succeeded.count >= 100);
 * await load.stop();
 */
export function startWriteLoad(
  targets: readonly RawClients[],
  options: WriteLoadOptions,
): WriteLoad {
  const md = bearer(options.token);
  const ledger = new Map<string, KeyLedger>();
  const keys = Array.from({ length: options.keys ?? 40 }, () => keyRef(options.fingerprint));
  for (const key of keys) {
    ledger.set(key.keyId.toString("hex"), { key, values: new Set(), acks: new Map() });
  }
  const failures: Failure[] = [];
  const succeeded = { count: 0, lastAt: 0 };
  const successTimes: number[] = [];
  const succeededOn = targets.map(() => 0);
  const skipped = new Set<number>();
  const staleReads: string[] = [];
  const waiters = new Set<() => void>();
  let stopped = false;
  const notify = (): void => {
    for (const wake of [...waiters]) wake();
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)] as T;
  const deadline = options.deadlineMs ?? 10_000;

  const once = async (): Promise<void> => {
    const live = targets.map((_, i) => i).filter((i) => !skipped.has(i));
    const target = pick(live);
    const c = targets[target] as RawClients;
    const record = ledger.get(pick(keys).keyId.toString("hex")) as KeyLedger;
    const op = Math.random() < 2 / 3 ? "set" : "get";
    const newestAcked = Math.max(0, ...record.acks.keys());
    const value = randomBytes(24).toString("base64");
    if (op === "set") record.values.add(value);
    try {
      if (op === "set") {
        const res = await call(
          c.vault,
          c.vault.setValue,
          {
            storeId: options.storeId,
            key: record.key,
            sealedValue: Buffer.from(value),
            previousKeys: [],
          },
          md,
          deadline,
        );
        const version = Number(res.version);
        // Two acknowledgements of one version would be a lost update.
        if (record.acks.has(version)) staleReads.push(`version ${version} acknowledged twice`);
        record.acks.set(version, value);
      } else {
        const res = await call(
          c.vault,
          c.vault.getValue,
          { storeId: options.storeId, key: record.key, previousKeys: [] },
          md,
          deadline,
        );
        const version = Number(res.entry?.version ?? 0);
        if (version < newestAcked) {
          staleReads.push(
            `server ${target} read version ${version} after ${newestAcked} was acknowledged`,
          );
        }
      }
      succeeded.count += 1;
      succeeded.lastAt = Date.now();
      successTimes.push(succeeded.lastAt);
      succeededOn[target] = (succeededOn[target] ?? 0) + 1;
    } catch (error) {
      const e = error as ServiceError;
      failures.push({
        op,
        code: e.code,
        reason: reasonOf(e),
        details: e.details,
        at: Date.now(),
        target,
      });
      await new Promise((resolve) => setTimeout(resolve, options.backoffMs ?? 25));
    }
  };

  const worker = async (): Promise<void> => {
    while (!stopped) {
      await once();
      notify();
    }
  };
  const workers = Array.from({ length: options.concurrency ?? 6 }, worker);

  return {
    ledger,
    failures,
    succeeded,
    successTimes,
    succeededOn,
    skipped,
    until(done, timeoutMs = 30_000) {
      if (done()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(new Error(`the load did not get there in ${timeoutMs} ms`));
        }, timeoutMs);
        const wake = (): void => {
          if (!done()) return;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve();
        };
        waiters.add(wake);
      });
    },
    async stop() {
      stopped = true;
      await Promise.all(workers);
      expect(
        staleReads,
        "reads older than an acknowledged write, or a version acknowledged twice",
      ).toEqual([]);
    },
  };
}

/**
 * Asserts every acknowledged write of the load is in the store: at the
 * version acknowledged last with its value, or at a later version with a
 * value that was sent (a write that committed but whose acknowledgement was
 * lost). Also that the store's counts agree with its contents.
 */
export async function expectEveryAckPresent(
  c: RawClients,
  token: string,
  storeId: string,
  ledger: ReadonlyMap<string, KeyLedger>,
): Promise<number> {
  const md = bearer(token);
  const records = [...ledger.values()];
  const res = await call(
    c.vault,
    c.vault.batchGetValues,
    { storeId, keys: records.map((r) => r.key) },
    md,
  );
  const found = new Map(
    res.entries.map((e) => [
      Buffer.from(e.keyId).toString("hex"),
      { version: Number(e.version), value: Buffer.from(e.sealedValue).toString() },
    ]),
  );
  let checked = 0;
  for (const [hex, record] of ledger) {
    if (record.acks.size === 0) continue;
    const latestAck = Math.max(...record.acks.keys());
    const stored = found.get(hex);
    expect(stored, `acknowledged write to ${hex.slice(0, 8)}… is missing`).toBeDefined();
    expect(stored?.version).toBeGreaterThanOrEqual(latestAck);
    if (stored?.version === latestAck) expect(stored.value).toBe(record.acks.get(latestAck));
    else expect(record.values.has(stored?.value ?? "")).toBe(true);
    checked += 1;
  }
  expect(checked).toBeGreaterThan(0);
  return checked;
}
