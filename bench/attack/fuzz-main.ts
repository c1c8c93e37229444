import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { runFuzz } from "./fuzz.js";
import { fuzzChecks, renderFuzzSummary } from "./fuzz-report.js";
import { renderFloodSummary, runHeaderFloodRounds } from "./header-flood.js";

const USAGE = `npm run fuzz -- [flags]

  --requests N              malformed requests to send (default 100000)
  --seed S                  the run's seed: the same seed sends the same requests (default "hexclave-fuzz")
  --connections C           HTTP/2 connections (default 8)
  --streams N               calls in flight per connection (default 8)
  --header-flood-rounds R   then R rounds of the header flood against the same server (default 3)
  --flood-requests N        requests per header-flood round (default 2000)
  --rss-bound-mb M          allowed RSS growth over the run (default 400)
  --log-level L             the server's log level (default debug)
  --replay LIST             only these probes: numbers and ranges, e.g. 17,52820 or 50000-59999
  --json PATH               also write the figures as JSON
  --help                    this text

Exits 1 if any check fails. Progress on stderr, the report on stdout.
`;

const { values } = parseArgs({
  args: process.argv.slice(2),
  strict: true,
  options: {
    requests: { type: "string", default: "100000" },
    seed: { type: "string", default: "hexclave-fuzz" },
    connections: { type: "string", default: "8" },
    streams: { type: "string", default: "8" },
    "header-flood-rounds": { type: "string", default: "3" },
    "flood-requests": { type: "string", default: "2000" },
    "rss-bound-mb": { type: "string", default: "200" },
    "log-level": { type: "string", default: "debug" },
    replay: { type: "string" },
    json: { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const positive = (name: string, text: string): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} takes a whole number, got ${text}`);
  return n;
};
const replay = values.replay?.split(",").flatMap((part) => {
  const [from, to] = part.split("-").map((n) => positive("replay", n));
  if (to === undefined) return [from as number];
  return Array.from({ length: to - (from as number) + 1 }, (_, i) => (from as number) + i);
});
const floodRounds =
  replay === undefined ? positive("header-flood-rounds", values["header-flood-rounds"]) : 0;
const progress = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
let flood: Awaited<ReturnType<typeof runHeaderFloodRounds>> | undefined;

const report = await runFuzz({
  requests: positive("requests", values.requests),
  seed: values.seed,
  connections: positive("connections", values.connections),
  streamsPerConnection: positive("streams", values.streams),
  rssBoundMb: positive("rss-bound-mb", values["rss-bound-mb"]),
  logLevel: values["log-level"],
  ...(replay === undefined ? {} : { replay }),
  progress,
  extra:
    floodRounds === 0
      ? undefined
      : async (server, fx) => {
          flood = await runHeaderFloodRounds(server, fx, {
            rounds: floodRounds,
            requestsPerRound: positive("flood-requests", values["flood-requests"]),
            connections: positive("connections", values.connections),
            seed: values.seed,
            progress,
          });
        },
});

process.stdout.write(`${renderFuzzSummary(report)}\n`);
if (flood !== undefined) process.stdout.write(`\n${renderFloodSummary(flood)}\n`);
const checks = [...fuzzChecks(report), ...(flood?.checks ?? [])];
if (values.json !== undefined) {
  writeFileSync(
    values.json,
    JSON.stringify(
      {
        seed: report.seed,
        requests: report.requests,
        durationMs: Math.round(report.durationMs),
        categories: Object.fromEntries(report.tally.categories),
        violations: Object.fromEntries(report.tally.counts),
        crashes: report.crashes,
        rss: report.rss,
        logLeaks: report.logLeaks.length,
        checks,
        headerFlood:
          flood === undefined ? undefined : { rounds: flood.rounds, checks: flood.checks },
      },
      null,
      2,
    ),
  );
}
process.exit(checks.every((c) => c.pass) ? 0 : 1);
