import type { CrashLoopReport } from "./crash-loop.js";
import type { Check } from "./fuzz-report.js";

/**
 * The crash loop's checks and its report as text.
 *
 * @example
 * const failed = crashLoopChecks(report).filter((c) => !c.pass);
 */
export function crashLoopChecks(report: CrashLoopReport): Check[] {
  const of = (check: string) => report.history.filter((p) => p.check === check).length;
  const acked = Object.values(report.acknowledged).reduce((a, b) => a + b, 0);
  return [
    {
      name: "every restart succeeds",
      pass: report.restartFailures.length === 0 && report.cyclesDone === report.cyclesPlanned,
      figure: `${report.cyclesDone}/${report.cyclesPlanned} cycles, ${report.restartFailures.length} failed restarts`,
    },
    {
      name: "every kill was a SIGKILL of a live server",
      pass: report.killFailures.length === 0,
      figure: `${report.killFailures.length} otherwise`,
    },
    {
      name: "0 acknowledged writes lost (sets and deletes)",
      pass: of("lost-write") + of("lost-delete") + of("unknown-value") === 0,
      figure: `${of("lost-write")} lost writes, ${of("lost-delete")} lost deletes, ${of("unknown-value")} unexplained values; ${acked} acknowledged ops, ${report.keysChecked} key states checked`,
    },
    {
      name: "0 version reuse; versions follow real time across restarts",
      pass: of("version-reuse") + of("version-order") === 0,
      figure: `${of("version-reuse")} reused, ${of("version-order")} out of order`,
    },
    {
      name: "check-and-set never passes against a stale version",
      pass: of("stale-cas") === 0,
      figure: `${of("stale-cas")} stale`,
    },
    {
      name: 'PRAGMA integrity_check is "ok" after every kill',
      pass: report.integrityFailures.length === 0 && report.integrityChecks > 0,
      figure: `${report.integrityChecks - report.integrityFailures.length}/${report.integrityChecks} ok`,
    },
    {
      name: "store counters match its entries after every restart",
      pass: report.counterMismatches.length === 0,
      figure: `${report.counterMismatches.length} mismatches`,
    },
    {
      name: "no write answered INTERNAL/UNKNOWN or another unexpected status",
      pass: Object.keys(report.unexpectedStatuses).length === 0,
      figure: JSON.stringify(report.unexpectedStatuses),
    },
    {
      name: "no log line holds the admin token or a stray stack trace",
      pass: report.logLeaks === 0,
      figure: `${report.logLeaks} lines`,
    },
  ];
}

/** The report as text. */
export function renderCrashLoopSummary(report: CrashLoopReport): string {
  const lines = [
    `crash loop: seed ${JSON.stringify(report.seed)}, ${report.cyclesDone}/${report.cyclesPlanned} SIGKILL cycles in ${(report.durationMs / 1000).toFixed(1)} s`,
    `acknowledged: ${Object.entries(report.acknowledged)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ")}; refused ${report.refused}; cut off by the kill ${report.cutOff}`,
    "",
    "checks:",
    ...crashLoopChecks(report).map((c) => `  ${c.pass ? "PASS" : "FAIL"}  ${c.name}: ${c.figure}`),
  ];
  const details = [
    ...report.restartFailures.map((d) => `restart: ${d}`),
    ...report.killFailures.map((d) => `kill: ${d}`),
    ...report.integrityFailures.map((d) => `integrity: ${d}`),
    ...report.counterMismatches.map((d) => `counters: ${d}`),
    ...report.history.map((p) => `${p.check}: ${p.detail}`),
  ];
  if (details.length > 0) {
    lines.push(
      "",
      `problems (${details.length}; first 40):`,
      ...details.slice(0, 40).map((d) => `  ${d}`),
    );
  }
  return lines.join("\n");
}
