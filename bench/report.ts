import type { AuthTiming, TimingView } from "./auth-timing.js";
import {
  DEPLOYMENT_CONCURRENCY,
  DEPLOYMENT_CONNECTIONS,
  pairedRatio,
  summarizeDeployments,
} from "./deployment-rows.js";
import { COMPARE_SUFFIX, deploymentOf } from "./deployments.js";
import type {
  BenchReport,
  ClientCost,
  DeploymentsResult,
  RowResult,
  SizeResult,
} from "./results.js";
import { targetChecks } from "./targets.js";

/**
 * The human-readable report: one table of rows (each Hexclave row followed by
 * the no-op baseline's), then client cost, latency vs store size, and the
 * issue's targets. Plain monospace text, ready to paste into a code block.
 *
 * @throws never.
 * @example
 * process.stdout.write(formatReport(report));
 */
export function formatReport(report: BenchReport): string {
  const s = report.settings;
  const lines = [
    `Hexclave benchmark — ${report.machine.cpus} cores (${report.machine.cpuModel}), Node ${report.machine.node}, ${report.startedAt}`,
    `command: ${report.command}`,
    `preload: ${n(report.preload.entries)} entries through the SDK in ${report.preload.seconds.toFixed(1)} s (${n(report.preload.entries / Math.max(report.preload.seconds, 1e-9))}/s); sealed values ${report.preload.sealedBytes} B`,
    `rows: ${Number(s.durationMs) / 1000} s measured after ${Number(s.warmupMs) / 1000} s warm-up; load from h2load (≤ ${s.maxGenerators} processes per operation, one HTTP/2 connection each)`,
  ];
  if (report.rows.length > 0) lines.push("", ...rowTable(report.rows));
  if (report.serverRssBytes !== undefined) {
    const noop =
      report.noopRssBytes === undefined ? "" : `; no-op baseline: ${mb(report.noopRssBytes)}`;
    lines.push(`server RSS after the rows: hexclave ${mb(report.serverRssBytes)}${noop}`);
  }
  if (report.deployments !== undefined) lines.push("", ...deploymentLines(report.deployments));
  if (report.authTiming !== undefined) lines.push("", ...authTimingLines(report.authTiming));
  if (report.clientCost !== undefined) lines.push("", ...clientCostLines(report.clientCost));
  if (report.sizes.length > 0) lines.push("", ...sizeLines(report.sizes));
  lines.push("", ...targetLines(report));
  lines.push("", `total time: ${(report.totalSeconds / 60).toFixed(1)} min`);
  return `${lines.join("\n")}\n`;
}

const HEADER = [
  "row",
  "server",
  "ops/s",
  "p50 ms",
  "p99 ms",
  "× noop",
  "srv CPU",
  "srv loop",
  "gen CPU",
  "other CPU",
  "srv µs/call",
  "saturated",
  "notes",
];

function rowTable(rows: readonly RowResult[]): string[] {
  const table = rows.map((r) => {
    const base = rows.find(
      (b) => b.server === "noop" && b.workload === r.workload && b.concurrency === r.concurrency,
    );
    const ratio =
      r.server === "noop" || base === undefined || r.status !== "ok" || base.status !== "ok"
        ? ""
        : `${(r.opsPerSec / base.opsPerSec).toFixed(2)}×`;
    const ok = r.status === "ok";
    return [
      r.row,
      r.server,
      ok ? n(r.opsPerSec) : r.status.toUpperCase(),
      ok ? ms(r.p50Ms) : "",
      ok ? ms(r.p99Ms) : "",
      ratio,
      ok ? pct(r.serverCpuPct) : "",
      ok ? pct(r.serverLoopPct) : "",
      ok ? pct(r.generatorCpuPct) : "",
      ok ? pct(r.otherCpuPct) : "",
      ok ? n((r.serverCpuPct / 100) * (1e6 / r.opsPerSec)) : "",
      r.saturated ?? "",
      notes(r),
    ];
  });
  return align(
    [HEADER, ...table],
    [false, false, true, true, true, true, true, true, true, true, true, false, false],
  );
}

function notes(r: RowResult): string {
  const parts: string[] = [];
  if (r.setShare !== undefined && r.status === "ok") {
    parts.push(
      `sets ${(r.setShare * 100).toFixed(1)}% (get p50 ${ms(r.byOp.get?.p50Ms ?? Number.NaN)}, set p50 ${ms(r.byOp.set?.p50Ms ?? Number.NaN)})`,
    );
  }
  if (r.status !== "ok") parts.push(r.problems.slice(0, 2).join("; "));
  return parts.join("; ");
}

function deploymentLines(d: DeploymentsResult): string[] {
  const header = [
    "deployment",
    "workload",
    "ops/s",
    "× noop",
    "range",
    "p50 ms",
    "p99 ms",
    "srv CPU",
    "busiest loop",
    "other CPU",
    "RSS/process",
    "notes",
  ];
  const rows = summarizeDeployments(d).map((x) => {
    const rss = d.rssBytes[x.deployment];
    const ok = x.rounds > 0 || (x.deployment === "noop" && Number.isFinite(x.opsPerSec));
    return [
      deploymentOf(x.deployment).label,
      x.workload === "get" ? "GetValue" : "SetValue",
      ok ? n(x.opsPerSec) : "FAILED",
      Number.isFinite(x.ratio.median) ? `${x.ratio.median.toFixed(2)}×` : "",
      Number.isFinite(x.ratio.min) && d.rounds > 1
        ? `${x.ratio.min.toFixed(2)}–${x.ratio.max.toFixed(2)}`
        : "",
      ms(x.p50Ms),
      ms(x.p99Ms),
      pct(x.serverCpuPct),
      pct(x.serverLoopPct),
      pct(x.otherCpuPct),
      rss === undefined ? "" : mb(rss),
      x.failed > 0 ? `${x.failed} failed: ${x.problems.slice(0, 1).join("")}` : "",
    ];
  });
  return [
    `Deployments at concurrency ${DEPLOYMENT_CONCURRENCY} (${DEPLOYMENT_CONNECTIONS} connections × ${DEPLOYMENT_CONCURRENCY / DEPLOYMENT_CONNECTIONS} streams, each its own key), ${d.rounds} round${d.rounds === 1 ? "" : "s"} in rotating order;`,
    "× noop: ops/s ÷ the one-process no-op's in the same round, median over rounds (range: lowest–highest); other columns: medians",
    ...(d.postgresVersion === undefined
      ? []
      : [`PostgreSQL: ${d.postgresVersion}, on this machine`]),
    ...align(
      [header, ...rows],
      [false, false, true, true, true, true, true, true, true, true, true, false],
    ),
    ...d.skipped.map((x) => `  not run: ${deploymentOf(x.deployment).label}: ${x.reason}`),
    ...d.keys
      .filter((k) => k.endsWith(COMPARE_SUFFIX))
      .flatMap((k) => {
        const base = k.slice(0, -COMPARE_SUFFIX.length);
        return deploymentOf(base).def.workloads.map((w) => {
          const r = pairedRatio(d, base, k, w);
          return `  this build ÷ compare build, ${deploymentOf(base).label}, ${w === "get" ? "GetValue" : "SetValue"}: ${Number.isFinite(r) ? `${r.toFixed(2)}×` : "n/a"} (median of per-round ratios)`;
        });
      }),
  ];
}

function authTimingLines(a: AuthTiming): string[] {
  const view = (title: string, v: TimingView): string[] => [
    `  ${title}${v.wrongOutcomes > 0 ? ` — ${v.wrongOutcomes} calls had the wrong outcome: FAILED` : ""}`,
    ...align(
      [
        ["kind", "calls", "p10 µs", "p50 µs", "p90 µs", "p99 µs", "mean µs"],
        ...v.distributions.map((x) => [
          x.kind,
          n(x.calls),
          us(x.p10Us),
          us(x.p50Us),
          us(x.p90Us),
          us(x.p99Us),
          us(x.meanUs),
        ]),
      ],
      [false, true, true, true, true, true, true],
    ).map((l) => `    ${l}`),
    ...align(
      [
        ["compared", "KS D", "KS p", "Δ median µs", "distinguishable (p < 0.01)"],
        ...v.comparisons.map((c) => [
          `${c.a} vs ${c.b}`,
          c.ksD.toFixed(4),
          c.ksP < 1e-4 ? c.ksP.toExponential(1) : c.ksP.toFixed(4),
          us(c.medianDiffUs),
          c.distinguishable ? "yes" : "no",
        ]),
      ],
      [false, true, true, true, false],
    ).map((l) => `    ${l}`),
  ];
  return [
    `Token check timing: ${n(a.callsPerKind)} calls per kind, the three kinds interleaved call by call`,
    ...view(
      "over the wire: GetValue to hexclave serve (SQLite), one call at a time, client-side time to the trailers",
      a.wire,
    ),
    ...view(
      "in process: Authenticator.authenticate() alone over a real SQLite storage",
      a.inProcess,
    ),
  ];
}

function us(value: number): string {
  if (!Number.isFinite(value)) return "—";
  return Math.abs(value) < 10
    ? value.toFixed(2)
    : Math.abs(value) < 100
      ? value.toFixed(1)
      : n(value);
}

function clientCostLines(c: ClientCost): string[] {
  return [
    `Client cost per operation (in-process, warm store keys, ${c.valueChars}-char token)`,
    ...align(
      [
        ["seal", `${c.sealUs.toFixed(1)} µs`],
        ["open", `${c.openUs.toFixed(1)} µs`],
        ["seal+open", `${c.sealOpenUs.toFixed(1)} µs`],
        ["key id (HMAC-SHA256 of the name)", `${c.keyIdUs.toFixed(1)} µs`],
        [
          "deriveStoreKeys, hand-made secret (scrypt, once per store)",
          `${c.deriveScryptMs.toFixed(0)} ms`,
        ],
        [
          "deriveStoreKeys, generated hxs_ secret (HKDF, once per store)",
          `${c.deriveGeneratedUs.toFixed(1)} µs`,
        ],
        [
          "reference: PBKDF2-HMAC-SHA256 100k iterations ×2, per call",
          `${c.pbkdf2TwiceMs.toFixed(1)} ms`,
        ],
        ["→ one reference call costs as much as this many seal+open", `${n(c.ratio)}×`],
      ],
      [false, true],
    ).map((l) => `  ${l}`),
  ];
}

function sizeLines(sizes: readonly SizeResult[]): string[] {
  const rows = sizes.flatMap((s) =>
    s.rows.map((r) => [
      n(s.entries),
      `${s.preloadSeconds.toFixed(0)} s`,
      String(r.concurrency),
      r.status === "ok" ? n(r.opsPerSec) : r.status.toUpperCase(),
      r.status === "ok" ? ms(r.p50Ms) : "",
      r.status === "ok" ? ms(r.p99Ms) : "",
      s.serverRssBytes === undefined ? "" : mb(s.serverRssBytes),
      r.status === "ok" ? "" : r.problems.slice(0, 1).join(""),
    ]),
  );
  const cold = sizes.flatMap((s) =>
    s.coldReads === undefined
      ? []
      : [
          [
            n(s.entries),
            "cold",
            "1",
            "",
            ms(s.coldReads.p50Ms),
            ms(s.coldReads.p99Ms),
            "",
            `${n(s.coldReads.count)} entries never read before: storage path, no cache`,
          ],
        ],
  );
  rows.push(...cold);
  return [
    "GetValue latency vs store size (one fresh server, the store grown in place; RSS at the end of each size)",
    ...align(
      [
        ["entries", "preload", "conc.", "ops/s", "p50 ms", "p99 ms", "server RSS", "notes"],
        ...rows,
      ],
      [true, true, true, true, true, true, true, false],
    ),
  ];
}

function targetLines(report: BenchReport): string[] {
  const checks = targetChecks(report);
  return [
    "Targets",
    ...align(
      [
        ["target", "wanted", "measured", ""],
        ...checks.map((t) => [
          t.name,
          t.target,
          t.measured,
          t.met === undefined ? "not measured" : t.met ? "met" : "MISSED",
        ]),
      ],
      [false, false, true, false],
    ),
  ];
}

function align(rows: readonly (readonly string[])[], right: readonly boolean[]): string[] {
  const widths = (rows[0] ?? []).map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  return rows.map((r) =>
    r
      .map((cell, c) => (right[c] ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
}

function n(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "—";
}

function ms(value: number): string {
  if (!Number.isFinite(value)) return "—";
  return value < 10 ? value.toFixed(2) : value.toFixed(1);
}

function pct(value: number): string {
  return Number.isFinite(value) ? `${Math.round(value)}%` : "—";
}

function mb(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MB`;
}
