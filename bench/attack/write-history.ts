/**
 * What the crash loop's writers did and saw, and the checks of what a
 * restarted server must still hold. Concurrency makes exact order unknowable
 * from outside, so every check uses only what real time proves: an
 * operation acknowledged before another was sent came first. An operation
 * with no answer (the kill cut it off) may or may not have happened, at any
 * moment after it was sent.
 */

/** One write as a client issued it. */
export interface WriteOp {
  readonly cycle: number;
  readonly key: number;
  readonly kind: "set" | "cas-set" | "delete" | "cas-delete";
  /** Hex of the sealed value, for sets; unique per operation. */
  readonly value?: string;
  /** The expected_version sent, for check-and-set/delete. */
  readonly expected?: bigint;
  readonly sentAt: number;
  ackAt?: number;
  /**
   * "acked" (status 0), "refused" (a status saying nothing was written), or
   * "unknown" (cut off: it may have been written).
   */
  outcome?: "acked" | "refused" | "unknown";
  /** New version of an acknowledged set. */
  version?: bigint;
  /** Whether an acknowledged delete found the entry. */
  deleted?: boolean;
  /** The status or error that ended it, when not acknowledged. */
  note?: string;
}

/** An entry as read back: present with version and value, or absent. */
export type KeyState = { readonly version: bigint; readonly value: string } | undefined;

/** A broken promise, described for the report. */
export interface HistoryProblem {
  readonly check:
    | "lost-write"
    | "lost-delete"
    | "unknown-value"
    | "version-reuse"
    | "version-order"
    | "stale-cas";
  readonly detail: string;
}

const ago = (op: WriteOp): string =>
  `${op.kind} #k${op.key} sent ${op.sentAt.toFixed(1)} acked ${op.ackAt?.toFixed(1) ?? "never"}${op.version === undefined ? "" : ` v${op.version}`}${op.expected === undefined ? "" : ` expected v${op.expected}`}`;

/**
 * Checks one key after a restart against its baseline (what was read after
 * the previous restart) and this cycle's operations on it.
 *
 * @example
 * problems.push(...checkKey(key, baseline.get(key), ops, readBack.get(key)));
 */
export function checkKey(
  key: number,
  baseline: KeyState,
  ops: readonly WriteOp[],
  read: KeyState,
): HistoryProblem[] {
  const problems: HistoryProblem[] = [];
  const acked = ops.filter((o) => o.outcome === "acked");
  const ackedSets = acked.filter((o) => o.kind === "set" || o.kind === "cas-set");
  const lastSet = ackedSets.reduce<WriteOp | undefined>(
    (best, o) => (best === undefined || (o.version ?? 0n) > (best.version ?? 0n) ? o : best),
    undefined,
  );
  const lastVersion = lastSet?.version ?? baseline?.version;

  if (read !== undefined) {
    const fromAck = ackedSets.find((o) => o.value === read.value);
    const fromMaybe = ops.find(
      (o) =>
        o.outcome === "unknown" &&
        (o.kind === "set" || o.kind === "cas-set") &&
        o.value === read.value,
    );
    const fromBaseline = baseline !== undefined && baseline.value === read.value;
    const writer = fromAck ?? fromMaybe;
    if (writer === undefined && !fromBaseline) {
      problems.push({
        check: "unknown-value",
        detail: `k${key}: read back v${read.version} with a value no client of this cycle or the previous read wrote`,
      });
    }
    if (fromAck !== undefined && fromAck.version !== read.version) {
      problems.push({
        check: "unknown-value",
        detail: `k${key}: the value of ${ago(fromAck)} read back as v${read.version}`,
      });
    }
    if (fromBaseline && writer === undefined && baseline.version !== read.version) {
      problems.push({
        check: "unknown-value",
        detail: `k${key}: the previous value read back as v${read.version}, was v${baseline.version}`,
      });
    }
    if (lastVersion !== undefined && read.version < lastVersion) {
      problems.push({
        check: "lost-write",
        detail: `k${key}: read back v${read.version}, but ${lastSet === undefined ? `the previous read saw v${lastVersion}` : `${ago(lastSet)} was acknowledged`}`,
      });
    }
    // The value's write, unless it is one that was cut off (that one may have landed last of all).
    if (fromMaybe === undefined && (fromAck !== undefined || fromBaseline)) {
      const writeAck = fromAck?.ackAt ?? Number.NEGATIVE_INFINITY;
      const later = acked.find(
        (o) => (o.kind === "delete" || o.kind === "cas-delete") && o.sentAt > writeAck,
      );
      if (later !== undefined) {
        problems.push({
          check: "lost-delete",
          detail: `k${key}: read back v${read.version}, but ${ago(later)} was sent after that write was acknowledged`,
        });
      }
    }
  } else if (lastVersion !== undefined) {
    const lastStart = lastSet?.sentAt ?? Number.NEGATIVE_INFINITY;
    const couldDelete = ops.some(
      (o) =>
        (o.kind === "delete" || o.kind === "cas-delete") &&
        ((o.outcome === "acked" && o.deleted === true && (o.ackAt ?? 0) > lastStart) ||
          o.outcome === "unknown"),
    );
    if (!couldDelete) {
      problems.push({
        check: "lost-write",
        detail: `k${key}: absent after restart, but ${lastSet === undefined ? `the previous read saw v${lastVersion}` : `${ago(lastSet)} was acknowledged`} and no delete could have come after it`,
      });
    }
  }

  // A delete that may have landed between `from` (sent) and `to` (acknowledged).
  const deleteBetween = (from: WriteOp, to: WriteOp): boolean =>
    ops.some(
      (d) =>
        (d.kind === "delete" || d.kind === "cas-delete") &&
        ((d.outcome === "acked" && d.deleted === true) || d.outcome === "unknown") &&
        (d.ackAt ?? Number.POSITIVE_INFINITY) > from.sentAt &&
        d.sentAt < (to.ackAt ?? Number.POSITIVE_INFINITY),
    );
  for (const cas of acked.filter((o) => o.kind === "cas-set")) {
    const expected = cas.expected ?? 0n;
    // A write after the expected version and before this one: with expected 0
    // a delete could have come in between; with any other, nothing could.
    const between = ackedSets.find(
      (o) =>
        o !== cas &&
        (o.version ?? 0n) > expected &&
        (o.version ?? 0n) < (cas.version ?? 0n) &&
        (expected > 0n || !deleteBetween(o, cas)),
    );
    if (between !== undefined) {
      problems.push({
        check: "stale-cas",
        detail: `k${key}: ${ago(cas)} succeeded though ${ago(between)} had written in between`,
      });
    }
  }
  for (const cas of acked.filter((o) => o.kind === "cas-delete" && o.deleted === true)) {
    const expected = cas.expected ?? 0n;
    const newer = ackedSets.find(
      (o) => (o.version ?? 0n) > expected && (o.ackAt ?? 0) < cas.sentAt,
    );
    if (expected === 0n || newer !== undefined) {
      problems.push({
        check: "stale-cas",
        detail: `k${key}: ${ago(cas)} deleted an entry${newer === undefined ? " it expected absent" : ` though ${ago(newer)} had been acknowledged before it was sent`}`,
      });
    }
  }
  return problems;
}

/**
 * Store-wide version checks over every acknowledged set of the run (all
 * cycles): no version given twice, and a set sent after another was
 * acknowledged got a larger version — across restarts too.
 *
 * @example
 * problems.push(...checkVersions(allOps));
 */
export function checkVersions(ops: readonly WriteOp[]): HistoryProblem[] {
  const problems: HistoryProblem[] = [];
  const sets = ops.filter((o) => o.outcome === "acked" && o.version !== undefined);
  const byVersion = new Map<bigint, WriteOp>();
  for (const op of sets) {
    const other = byVersion.get(op.version as bigint);
    if (other !== undefined) {
      problems.push({
        check: "version-reuse",
        detail: `v${op.version} acknowledged twice: cycle ${other.cycle} ${ago(other)} and cycle ${op.cycle} ${ago(op)}`,
      });
    } else {
      byVersion.set(op.version as bigint, op);
    }
  }
  // Sweep by send time, remembering the largest version acknowledged before it.
  const byAck = [...sets].sort((a, b) => (a.ackAt ?? 0) - (b.ackAt ?? 0));
  const bySend = [...sets].sort((a, b) => a.sentAt - b.sentAt);
  let i = 0;
  let max: WriteOp | undefined;
  for (const op of bySend) {
    while (i < byAck.length && (byAck[i]?.ackAt ?? 0) < op.sentAt) {
      const done = byAck[i] as WriteOp;
      if (max === undefined || (done.version ?? 0n) > (max.version ?? 0n)) max = done;
      i++;
    }
    if (max !== undefined && (op.version ?? 0n) <= (max.version ?? 0n)) {
      problems.push({
        check: "version-order",
        detail: `cycle ${op.cycle} ${ago(op)} got a version not above cycle ${max.cycle} ${ago(max)}, acknowledged before it was sent`,
      });
    }
  }
  return problems;
}
