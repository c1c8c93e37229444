import type { FuzzReport } from "./fuzz.js";
import { CATEGORIES } from "./probe-context.js";

/**
 * The fuzzer's report as text: one row per category, the checks with PASS
 * or FAIL, and the violations with the probe numbers that reproduce them.
 */

/** One check of the run and whether it held. */
export interface Check {
  readonly name: string;
  readonly pass: boolean;
  readonly figure: string;
}

const STATUS_NAMES: Record<number, string> = {
  0: "OK",
  1: "CANCELLED",
  2: "UNKNOWN",
  3: "INVALID_ARGUMENT",
  4: "DEADLINE_EXCEEDED",
  5: "NOT_FOUND",
  6: "ALREADY_EXISTS",
  7: "PERMISSION_DENIED",
  8: "RESOURCE_EXHAUSTED",
  9: "FAILED_PRECONDITION",
  10: "ABORTED",
  11: "OUT_OF_RANGE",
  12: "UNIMPLEMENTED",
  13: "INTERNAL",
  14: "UNAVAILABLE",
  15: "DATA_LOSS",
  16: "UNAUTHENTICATED",
};

/** A status code's name. */
export function statusName(code: number): string {
  return STATUS_NAMES[code] ?? String(code);
}

/**
 * The checks a fuzz run must pass.
 *
 * @example
 * const failed = fuzzChecks(report).filter((c) => !c.pass);
 */
export function fuzzChecks(report: FuzzReport): Check[] {
  const totals = report.tally.totals();
  const growthKb = report.rss.afterKb - report.rss.beforeKb;
  return [
    {
      name: "server never crashed",
      pass: report.crashes.length === 0,
      figure: `${report.crashes.length} crashes`,
    },
    {
      name: "alive and SERVING at the end",
      pass: report.aliveAtEnd && report.servingAtEnd,
      figure: `alive=${report.aliveAtEnd} serving=${report.servingAtEnd}`,
    },
    {
      name: "no INTERNAL (13) or UNKNOWN (2) answer",
      pass: totals["internal-or-unknown"] === 0,
      figure: `${totals["internal-or-unknown"]} answers`,
    },
    {
      name: "no token, stack trace or SQL in any answer",
      pass: totals["response-leak"] === 0,
      figure: `${totals["response-leak"]} leaks`,
    },
    {
      name: "every call ends with a grpc-status or a clean HTTP/2 refusal",
      pass: totals["no-status"] === 0,
      figure: `${totals["no-status"]} without status`,
    },
    {
      name: "no call hangs (20 s)",
      pass: totals.hung === 0,
      figure: `${totals.hung} hung`,
    },
    {
      name: "no log line holds a token, or a stack trace outside a server-fault line",
      pass: report.logLeaks.length === 0,
      figure: `${report.logLeaks.length} lines (of ${report.logLines.stdout} stdout, ${report.logLines.stderr} stderr)`,
    },
    {
      name: "exits 0 on SIGTERM after the run (within 30 s)",
      pass: report.shutdown === "0",
      figure: `exit ${report.shutdown}`,
    },
    {
      name: `RSS growth within ${Math.round(report.rss.boundKb / 1024)} MB`,
      pass: growthKb <= report.rss.boundKb && report.rss.afterKb > 0,
      figure: `${mb(report.rss.beforeKb)} → ${mb(report.rss.afterKb)} (peak ${mb(report.rss.peakKb)})`,
    },
    {
      // V8 grows its heap under load and keeps it (the live heap stays ~20 MB: docs/hardening.md);
      // a leak would keep growing. Over a long run's second half RSS must stay within 15%; a
      // short run (CI's) ends while V8 is still growing its heap, so only the bound above applies.
      name: "RSS flat over the second half of the run (no leak)",
      pass: shortRun(report.rss.samples) || secondHalfGrowth(report.rss.samples) <= 0.15,
      figure: shortRun(report.rss.samples)
        ? `not judged: ${lastProbes(report.rss.samples)} probes, under ${FLATNESS_MIN_PROBES} (heap still warming)`
        : `+${(secondHalfGrowth(report.rss.samples) * 100).toFixed(1)}% from the midpoint`,
    },
  ];
}

/** Runs shorter than this end while V8 is still growing its heap: flatness means nothing there. */
const FLATNESS_MIN_PROBES = 20_000;

function lastProbes(samples: readonly { probes: number }[]): number {
  return samples[samples.length - 1]?.probes ?? 0;
}

function shortRun(samples: readonly { probes: number }[]): boolean {
  return lastProbes(samples) < FLATNESS_MIN_PROBES;
}

/** RSS growth from the middle sample to the last, as a fraction of the middle sample. */
function secondHalfGrowth(samples: readonly { probes: number; rssKb: number }[]): number {
  if (samples.length < 4) return 0;
  const middle = samples[Math.floor(samples.length / 2)]?.rssKb ?? 0;
  const last = samples[samples.length - 1]?.rssKb ?? 0;
  return middle === 0 ? 0 : Math.max(0, last - middle) / middle;
}

const mb = (kb: number): string => `${(kb / 1024).toFixed(1)} MB`;

/**
 * The whole report as text.
 *
 * @example
 * console.log(renderFuzzSummary(report));
 */
export function renderFuzzSummary(report: FuzzReport): string {
  const lines: string[] = [];
  lines.push(
    `fuzz: seed ${JSON.stringify(report.seed)}, ${report.requests} probes over ${report.connections} connections in ${(report.durationMs / 1000).toFixed(1)} s`,
  );
  const header = [
    "category",
    "sent",
    "OK",
    "RST",
    "GOAWAY",
    "HTTP",
    "h2-ans",
    "cancel",
    "local",
    "no-st",
    "hung",
    "INT/UNK",
    "leaks",
    "statuses",
  ];
  const rows: string[][] = [header];
  const sum = new Array<number>(header.length - 2).fill(0);
  for (const category of CATEGORIES) {
    const t = report.tally.categories.get(category);
    if (t === undefined) continue;
    const cells = [
      t.sent,
      t.statuses[0] ?? 0,
      t.rst,
      t.goaway,
      t.http,
      t.answered + t.silent,
      t.selfCancelled,
      t.refusedLocally,
      t.noStatus,
      t.hung,
      t.internal,
      t.leaks,
    ];
    cells.forEach((n, i) => {
      sum[i] = (sum[i] ?? 0) + n;
    });
    const statuses = Object.entries(t.statuses)
      .filter(([code]) => code !== "0")
      .sort((a, b) => b[1] - a[1])
      .map(([code, n]) => `${statusName(Number(code))}:${n}`)
      .join(" ");
    rows.push([category, ...cells.map(String), statuses]);
  }
  rows.push(["total", ...sum.map(String), ""]);
  const widths = header.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  for (const row of rows) {
    lines.push(
      row
        .map((cell, i) =>
          i === 0 || i === row.length - 1
            ? cell.padEnd(widths[i] ?? 0)
            : cell.padStart(widths[i] ?? 0),
        )
        .join("  ")
        .trimEnd(),
    );
  }
  lines.push("", "checks:");
  for (const check of fuzzChecks(report)) {
    lines.push(`  ${check.pass ? "PASS" : "FAIL"}  ${check.name}: ${check.figure}`);
  }
  if (report.crashes.length > 0) {
    lines.push("", "crashes:");
    for (const crash of report.crashes) {
      lines.push(`  after ${crash.afterProbes} probes, exit ${crash.exit}; in flight:`);
      for (const p of crash.inFlight) lines.push(`    ${p}`);
      for (const l of crash.stderrTail) lines.push(`    stderr: ${l.slice(0, 200)}`);
    }
  }
  if (report.tally.counts.size > 0) {
    lines.push("", "violations (count, kind, category, first words; methods):");
    const sorted = [...report.tally.counts.entries()].sort((a, b) => b[1] - a[1]);
    for (const [signature, n] of sorted.slice(0, 80)) {
      const methods = [...(report.tally.methods.get(signature) ?? [])];
      const on = methods.length >= 10 ? `${methods.length} methods` : methods.join(", ");
      lines.push(`  ${String(n).padStart(6)}  ${signature.replaceAll("|", "  ")}  [${on}]`);
    }
    lines.push("", "examples (replay one with --seed S --replay N):");
    for (const v of report.tally.violations.slice(0, 80)) {
      lines.push(`  #${v.index} [${v.kind}] ${v.category} ${v.method}: ${v.label}`);
      lines.push(`      → ${v.detail}`);
      lines.push(`      ${v.request}`);
    }
  }
  if (report.logLeaks.length > 0) {
    lines.push("", `log leaks (${report.logLeaks.length}; first 10):`);
    for (const leak of report.logLeaks.slice(0, 10)) {
      lines.push(`  ${leak.stream} ${leak.kind} (${leak.what}): ${leak.line}`);
    }
  }
  if (report.stderrSample.length > 0) {
    lines.push("", "server stderr (first of each kind, secrets masked):");
    for (const line of report.stderrSample.slice(0, 20)) lines.push(`  ${line}`);
  }
  if (report.rss.samples.length > 0) {
    const curve = report.rss.samples.map((s) => `${s.probes}:${mb(s.rssKb)}`).join("  ");
    lines.push("", `server RSS during the run (probes:RSS): ${curve}`);
  }
  if (report.shutdown !== "0") {
    lines.push("", "server output after SIGTERM:", ...report.shutdownLog.map((l) => `  ${l}`));
  }
  lines.push("", "slowest calls:");
  for (const { ms, what } of report.tally.slowest) lines.push(`  ${Math.round(ms)} ms  ${what}`);
  for (const r of report.replayed) lines.push(`replay #${r.index}: ${r.probe}\n  → ${r.outcome}`);
  return lines.join("\n");
}
