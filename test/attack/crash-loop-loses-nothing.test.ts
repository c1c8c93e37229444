import { beforeAll, expect, it } from "vitest";
import { type CrashLoopReport, runCrashLoop } from "../../bench/attack/crash-loop.js";
import { crashLoopChecks, renderCrashLoopSummary } from "../../bench/attack/crash-loop-report.js";

/**
 * Threat: silent loss or corruption on a crash. The short form of
 * `npm run crash-loop`: five cycles of colliding writers (plain and
 * check-and-set SetValue, plain and check-and-delete DeleteValue) on one
 * data dir, each ended by SIGKILL at a seeded random moment. After each kill
 * the database passes PRAGMA integrity_check; after each restart every
 * acknowledged write (and delete) is still in effect, no version was given
 * twice, and the store's counters match its entries.
 */

let report: CrashLoopReport;

beforeAll(async () => {
  report = await runCrashLoop({ cycles: 5, seed: "hexclave-suite-crash" });
  console.log(renderCrashLoopSummary(report));
}, 120_000);

const check = (prefix: string) => {
  const found = crashLoopChecks(report).find((c) => c.name.startsWith(prefix));
  if (found === undefined) throw new Error(`no check "${prefix}"`);
  return found;
};
const problems = (...kinds: string[]) =>
  report.history
    .filter((p) => kinds.includes(p.check))
    .slice(0, 10)
    .map((p) => `${p.check}: ${p.detail}`)
    .join("\n");

it("every restart succeeds and every kill was a SIGKILL", () => {
  expect(check("every restart").pass, report.restartFailures.join("\n")).toBe(true);
  expect(check("every kill").pass, report.killFailures.join("\n")).toBe(true);
});

it("writes were acknowledged, refused and cut off in every form", () => {
  expect(report.acknowledged.set).toBeGreaterThan(0);
  expect(report.acknowledged["cas-set"]).toBeGreaterThan(0);
  expect(report.acknowledged.delete).toBeGreaterThan(0);
  expect(report.acknowledged["cas-delete"]).toBeGreaterThan(0);
  expect(report.refused).toBeGreaterThan(0);
});

it("no acknowledged write or delete is lost", () => {
  expect(check("0 acknowledged").pass, problems("lost-write", "lost-delete", "unknown-value")).toBe(
    true,
  );
});

it("no version is given twice, and versions follow real time across restarts", () => {
  expect(check("0 version reuse").pass, problems("version-reuse", "version-order")).toBe(true);
});

it("check-and-set never passes against a stale version", () => {
  expect(check("check-and-set").pass, problems("stale-cas")).toBe(true);
});

it('the database is intact after every kill (PRAGMA integrity_check = "ok")', () => {
  expect(report.integrityFailures).toEqual([]);
  expect(report.integrityChecks).toBe(5);
});

it("the store's counters match its entries, writes get no unexpected status, logs hold no token", () => {
  expect(report.counterMismatches).toEqual([]);
  expect(report.unexpectedStatuses).toEqual({});
  expect(report.logLeaks).toBe(0);
});
