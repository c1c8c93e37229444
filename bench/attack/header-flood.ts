import { rm } from "node:fs/promises";
import type { ClientHttp2Session } from "node:http2";
import {
  DescribeStoreRequest,
  SetValueRequest,
  VaultServiceService,
} from "../../gen/hexclave/v1/vault_service.js";
import { grpcFrame } from "../grpc-frame.js";
import { setUpFixture } from "./attack-fixture.js";
import {
  type AttackServer,
  freshServerConfig,
  type ServerOutput,
  SHUTDOWN_LIMIT_MS,
  startAttackServer,
} from "./attack-server.js";
import type { Check } from "./fuzz-report.js";
import { healthServing } from "./grpc-unary.js";
import { scanServerOutput } from "./leak-patterns.js";
import {
  connectRaw,
  type Outcome,
  type RawRequest,
  rawCall,
  sessionUsable,
} from "./raw-grpc-call.js";
import type { AttackFixture } from "./rpc-targets.js";
import { SeededRandom } from "./seeded-random.js";
import { manyHeaders } from "./transport-probes.js";

/**
 * The header flood: several connections sending oversized header lists (a
 * 200 KB value, 300 fields of 100 bytes) interleaved with large acceptable
 * calls, round after round. Node 20's nghttp2 aborted the process on this;
 * the server must stay up, refuse each oversized request cleanly (RST_STREAM,
 * GOAWAY, or a status other than INTERNAL/UNKNOWN) and keep serving the rest.
 */

/** Options of the flood. */
export interface FloodOptions {
  readonly rounds: number;
  readonly requestsPerRound: number;
  readonly connections: number;
  readonly seed: string;
  readonly progress?: (line: string) => void;
}

type Kind = "value-200k" | "fields-300x100" | "both" | "auth-200k" | "large-ok" | "small-ok";

/** What one round saw. */
export interface FloodRound {
  readonly round: number;
  readonly sent: number;
  /** Per request kind: outcome → count ("status:8", "rst:11", "goaway"…). */
  readonly outcomes: Record<Kind, Record<string, number>>;
  readonly aliveAfter: boolean;
  readonly servingAfter: boolean;
  readonly rssKb: number;
  /** Violations, described. */
  readonly problems: string[];
}

/** The flood's result. */
export interface FloodReport {
  readonly rounds: readonly FloodRound[];
  readonly checks: readonly Check[];
}

const OVERSIZED: readonly Kind[] = ["value-200k", "fields-300x100", "both", "auth-200k"];

function requestFor(kind: Kind, fx: AttackFixture, rng: SeededRandom): RawRequest {
  const auth = { authorization: `Bearer ${fx.tokens.admin}` };
  const describe = grpcFrame(DescribeStoreRequest.encode({ storeId: fx.mainStore }).finish());
  const base = {
    path: VaultServiceService.describeStore.path,
    chunks: [describe],
    timeoutMs: 20_000,
  };
  switch (kind) {
    case "value-200k":
      return { ...base, headers: { ...auth, "x-big": "v".repeat(200 * 1024) } };
    case "fields-300x100":
      return { ...base, headers: { ...auth, ...manyHeaders(300, 100) } };
    case "both":
      return {
        ...base,
        headers: { ...auth, ...manyHeaders(300, 100), "x-big": "v".repeat(200 * 1024) },
      };
    case "auth-200k":
      return { ...base, headers: { authorization: `Bearer ${"t".repeat(200 * 1024)}` } };
    case "large-ok": {
      // A 60 KB value under the 64 KiB limit, and 40 header fields (4 KB): large, but acceptable.
      const message = SetValueRequest.encode({
        storeId: fx.mainStore,
        key: rng.pick(fx.keys),
        sealedValue: rng.bytes(60 * 1024),
        previousKeys: [],
      }).finish();
      return {
        path: VaultServiceService.setValue.path,
        headers: { ...auth, ...manyHeaders(40, 100) },
        chunks: [grpcFrame(message)],
        timeoutMs: 30_000,
      };
    }
    case "small-ok":
      return { ...base, headers: auth };
  }
}

function label(outcome: Outcome): string {
  if (outcome.kind === "status") return `status:${outcome.grpcStatus}`;
  if (outcome.kind === "rst" || outcome.kind === "goaway")
    return `${outcome.kind}${outcome.errorCode === undefined ? "" : `:${outcome.errorCode}`}`;
  if (outcome.kind === "http") return `http:${outcome.httpStatus}`;
  return outcome.kind;
}

/**
 * Runs the flood's rounds against a running server (the fuzz CLI's server
 * after its probes, or one of {@link runHeaderFlood}).
 *
 * @example
 * const report = await runHeaderFloodRounds(() => server, fx, { rounds: 3, requestsPerRound: 2000, connections: 4, seed: "s" });
 */
export async function runHeaderFloodRounds(
  server: () => AttackServer,
  fx: AttackFixture,
  options: FloodOptions,
): Promise<FloodReport> {
  const rounds: FloodRound[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    const outcomes = Object.fromEntries(
      (["value-200k", "fields-300x100", "both", "auth-200k", "large-ok", "small-ok"] as const).map(
        (k) => [k, {}],
      ),
    ) as Record<Kind, Record<string, number>>;
    const problems: string[] = [];
    let next = 0;
    const lane = async (): Promise<void> => {
      let session: ClientHttp2Session | undefined;
      const slot = async (): Promise<void> => {
        for (let i = next++; i < options.requestsPerRound; i = next++) {
          if (!server().alive()) return;
          const rng = SeededRandom.derive(options.seed, "flood", round, i);
          const kind = rng.weighted<Kind>([
            ["value-200k", 10],
            ["fields-300x100", 10],
            ["both", 5],
            ["auth-200k", 5],
            ["large-ok", 35],
            ["small-ok", 35],
          ]);
          if (session === undefined || !sessionUsable(session)) {
            session?.destroy();
            session = connectRaw(server().address);
          }
          const outcome = await rawCall(session, requestFor(kind, fx, rng));
          const name = label(outcome);
          outcomes[kind][name] = (outcomes[kind][name] ?? 0) + 1;
          const bad =
            (outcome.kind === "status" &&
              (outcome.grpcStatus === 13 || outcome.grpcStatus === 2)) ||
            outcome.kind === "no-status" ||
            outcome.kind === "timeout" ||
            outcome.kind === "refused-locally" ||
            (kind !== "fields-300x100" &&
              OVERSIZED.includes(kind) &&
              outcome.kind === "status" &&
              outcome.grpcStatus === 0);
          if (bad && problems.length < 20) {
            problems.push(
              `#${i} ${kind}: ${name} ${outcome.grpcMessage ?? outcome.detail ?? ""}`.trim(),
            );
          }
        }
      };
      await Promise.all(Array.from({ length: 8 }, slot));
      session?.destroy();
    };
    await Promise.all(Array.from({ length: options.connections }, lane));
    const aliveAfter = server().alive();
    const servingAfter = aliveAfter && (await healthServing(server().address));
    const rssKb = server().memory()?.rssKb ?? 0;
    rounds.push({
      round,
      sent: options.requestsPerRound,
      outcomes,
      aliveAfter,
      servingAfter,
      rssKb,
      problems,
    });
    options.progress?.(
      `header flood round ${round}: alive=${aliveAfter} serving=${servingAfter} rss=${(rssKb / 1024).toFixed(0)} MB`,
    );
    if (!aliveAfter) break;
  }
  return { rounds, checks: floodChecks(rounds, options.rounds) };
}

function floodChecks(rounds: readonly FloodRound[], planned: number): Check[] {
  const count = (kinds: readonly Kind[], match: (outcome: string) => boolean): number =>
    rounds.reduce(
      (sum, r) =>
        sum +
        kinds.reduce(
          (s, k) =>
            s + Object.entries(r.outcomes[k]).reduce((t, [o, n]) => t + (match(o) ? n : 0), 0),
          0,
        ),
      0,
    );
  const internal = (o: string) => o === "status:13" || o === "status:2";
  const unclean = (o: string) =>
    internal(o) || o === "no-status" || o === "timeout" || o === "refused-locally";
  const accepted200k = count(["value-200k", "both", "auth-200k"], (o) => o === "status:0");
  const oversizedUnclean = count(OVERSIZED, unclean);
  const acceptableInternal = count(["large-ok", "small-ok"], unclean);
  const acceptableOk = rounds.map(
    (r) => (r.outcomes["large-ok"]["status:0"] ?? 0) + (r.outcomes["small-ok"]["status:0"] ?? 0),
  );
  return [
    {
      name: "header flood: alive and SERVING after every round",
      pass: rounds.length === planned && rounds.every((r) => r.aliveAfter && r.servingAfter),
      figure: rounds
        .map((r) => `round ${r.round}: ${r.aliveAfter && r.servingAfter ? "up" : "DOWN"}`)
        .join(", "),
    },
    {
      name: "header flood: every oversized request refused cleanly (no INTERNAL/UNKNOWN, none hung)",
      pass: oversizedUnclean === 0,
      figure: `${oversizedUnclean} unclean of ${count(OVERSIZED, () => true)}`,
    },
    {
      name: "header flood: no 200 KB header list accepted",
      pass: accepted200k === 0,
      figure: `${accepted200k} accepted`,
    },
    {
      name: "header flood: acceptable calls never INTERNAL/UNKNOWN, some succeed every round",
      pass: acceptableInternal === 0 && acceptableOk.every((n) => n > 0),
      figure: `${acceptableInternal} unclean; OK per round: ${acceptableOk.join(", ")}`,
    },
  ];
}

/**
 * The flood on a server of its own (the test suite's form): starts it, sets
 * up real data, runs the rounds, stops it and checks its logs too.
 *
 * @example
 * const report = await runHeaderFlood({ rounds: 3, requestsPerRound: 2000, connections: 4, seed: "flood" });
 */
export async function runHeaderFlood(
  options: FloodOptions,
): Promise<FloodReport & { logLeaks: number; shutdown: string }> {
  const config = await freshServerConfig("hexclave-flood-");
  const output: ServerOutput = { stdout: [], stderr: [] };
  const server = await startAttackServer(config, output);
  try {
    const fx = await setUpFixture(server.address, config.adminToken, options.seed);
    const report = await runHeaderFloodRounds(() => server, fx, options);
    const shutdown = await server.terminate(SHUTDOWN_LIMIT_MS);
    return { ...report, logLeaks: scanServerOutput(output, fx.known).length, shutdown };
  } finally {
    if (server.alive()) await server.stop("SIGKILL");
    await rm(config.dataDir, { recursive: true, force: true });
  }
}

/** The flood's report as text. */
export function renderFloodSummary(report: FloodReport): string {
  const lines = ["header flood:"];
  for (const r of report.rounds) {
    lines.push(
      `  round ${r.round}: ${r.sent} requests, alive=${r.aliveAfter} serving=${r.servingAfter}, RSS ${(r.rssKb / 1024).toFixed(1)} MB`,
    );
    for (const [kind, outcomes] of Object.entries(r.outcomes)) {
      const text = Object.entries(outcomes)
        .sort((a, b) => b[1] - a[1])
        .map(([o, n]) => `${o}×${n}`)
        .join(" ");
      lines.push(`    ${kind.padEnd(15)} ${text}`);
    }
    for (const p of r.problems) lines.push(`    problem: ${p}`);
  }
  for (const c of report.checks)
    lines.push(`  ${c.pass ? "PASS" : "FAIL"}  ${c.name}: ${c.figure}`);
  return lines.join("\n");
}
