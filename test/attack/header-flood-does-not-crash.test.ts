import { beforeAll, expect, it } from "vitest";
import {
  type FloodReport,
  renderFloodSummary,
  runHeaderFlood,
} from "../../bench/attack/header-flood.js";

/**
 * Threat: a remote abort. On Node 20, oversized header lists on several
 * connections made nghttp2 hit an assertion and took the whole server down.
 * Three rounds of ~2,000 requests — 200 KB header values, 300 fields of 100
 * bytes, 200 KB tokens — mixed with large acceptable calls on the same
 * connections; after each round the process is alive and SERVING.
 */

let report: FloodReport & { logLeaks: number; shutdown: string };

beforeAll(async () => {
  report = await runHeaderFlood({
    rounds: 3,
    requestsPerRound: 2000,
    connections: 4,
    seed: "hexclave-suite-flood",
  });
  console.log(renderFloodSummary(report));
}, 120_000);

const check = (prefix: string) => {
  const found = report.checks.find((c) => c.name.startsWith(`header flood: ${prefix}`));
  if (found === undefined) throw new Error(`no check "${prefix}"`);
  return found;
};

it("the server is alive and SERVING after every round", () => {
  expect(report.rounds).toHaveLength(3);
  expect(check("alive").pass, check("alive").figure).toBe(true);
});

it("every oversized request is refused cleanly: RST_STREAM, GOAWAY or a status, never INTERNAL", () => {
  const problems = report.rounds.flatMap((r) => r.problems).join("\n");
  expect(check("every oversized").pass, `${check("every oversized").figure}\n${problems}`).toBe(
    true,
  );
  expect(check("no 200 KB").pass, check("no 200 KB").figure).toBe(true);
});

it("acceptable calls in between are never INTERNAL and some succeed in every round", () => {
  expect(check("acceptable").pass, check("acceptable").figure).toBe(true);
});

it("the server logs no token and stops cleanly afterwards", () => {
  expect(report.logLeaks).toBe(0);
  expect(report.shutdown).toBe("0");
});
