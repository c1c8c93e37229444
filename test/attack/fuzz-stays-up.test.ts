import { beforeAll, describe, expect, it } from "vitest";
import { type FuzzReport, runFuzz } from "../../bench/attack/fuzz.js";
import { fuzzChecks, renderFuzzSummary } from "../../bench/attack/fuzz-report.js";

/**
 * Threat: a remote crash, a wedged call or an internal leak triggered by a
 * malformed request. The short form of `npm run fuzz`: a few thousand
 * malformed requests (fixed seed) over every method of every service, at the
 * protobuf, gRPC framing, header and HTTP/2 frame layers, against a real
 * `hexclave serve` process holding real data. Each property is its own test
 * so a failure says which one broke; the table is printed either way.
 */

const SEED = "hexclave-suite-fuzz";
let report: FuzzReport;

beforeAll(async () => {
  report = await runFuzz({ requests: 3000, seed: SEED, connections: 4 });
  console.log(renderFuzzSummary(report));
}, 120_000);

const check = (name: string) => {
  const found = fuzzChecks(report).find((c) => c.name.startsWith(name));
  if (found === undefined) throw new Error(`no check named "${name}"`);
  return found;
};

/** The first kept violations of a kind, as text for the failure message. */
const examples = (kind: string): string =>
  report.tally.violations
    .filter((v) => v.kind === kind)
    .slice(0, 8)
    .map(
      (v) => `#${v.index} ${v.category} ${v.method} (${v.label}) → ${v.detail}\n    ${v.request}`,
    )
    .join("\n");

describe(`fuzz, seed ${SEED}`, () => {
  it("sent every category over every service", () => {
    expect(report.requests).toBe(3000);
    expect(report.tally.categories.size).toBe(14);
    expect(report.tally.categories.get("valid")?.statuses[0] ?? 0).toBeGreaterThan(0);
  });

  it("the server never crashed and is SERVING at the end", () => {
    expect(report.crashes, JSON.stringify(report.crashes, null, 2)).toEqual([]);
    expect(check("alive and SERVING").pass).toBe(true);
  });

  it("no answer is INTERNAL or UNKNOWN", () => {
    expect(report.tally.totals()["internal-or-unknown"], examples("internal-or-unknown")).toBe(0);
  });

  it("no answer carries a token, a stack trace or SQL", () => {
    expect(report.tally.totals()["response-leak"], examples("response-leak")).toBe(0);
  });

  it("every call ends: with a grpc-status or a clean HTTP/2 refusal, never hanging", () => {
    expect(report.tally.totals()["no-status"], examples("no-status")).toBe(0);
    expect(report.tally.totals().hung, examples("hung")).toBe(0);
  });

  it("no server log line (stdout or stderr) holds a token or a stray stack trace", () => {
    const lines = report.logLeaks.slice(0, 5).map((l) => `${l.stream} ${l.kind}: ${l.line}`);
    expect(report.logLeaks.length, lines.join("\n")).toBe(0);
  });

  it("RSS stays within its bound and the server stops cleanly on SIGTERM", () => {
    expect(check("RSS growth").pass, check("RSS growth").figure).toBe(true);
    expect(report.shutdown).toBe("0");
  });
});
