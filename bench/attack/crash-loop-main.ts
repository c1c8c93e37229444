import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { runCrashLoop } from "./crash-loop.js";
import { crashLoopChecks, renderCrashLoopSummary } from "./crash-loop-report.js";

const USAGE = `npm run crash-loop -- [flags]

  --cycles N     SIGKILL cycles (default 100)
  --seed S       the run's seed: kill moments, operations, keys and values (default "hexclave-crash")
  --writers N    concurrent writers (default 16)
  --keys N       keys they share (default 8)
  --json PATH    also write the figures as JSON
  --help         this text

Exits 1 if any check fails. Progress on stderr, the report on stdout.
`;

const { values } = parseArgs({
  args: process.argv.slice(2),
  strict: true,
  options: {
    cycles: { type: "string", default: "100" },
    seed: { type: "string", default: "hexclave-crash" },
    writers: { type: "string", default: "16" },
    keys: { type: "string", default: "8" },
    json: { type: "string" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const whole = (name: string, text: string): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--${name} takes a whole number ≥ 1, got ${text}`);
  return n;
};

const report = await runCrashLoop({
  cycles: whole("cycles", values.cycles),
  seed: values.seed,
  writers: whole("writers", values.writers),
  keys: whole("keys", values.keys),
  progress: (line) => process.stderr.write(`${line}\n`),
});
process.stdout.write(`${renderCrashLoopSummary(report)}\n`);
const checks = crashLoopChecks(report);
if (values.json !== undefined) {
  writeFileSync(
    values.json,
    JSON.stringify(
      { ...report, history: report.history.slice(0, 200), checks },
      (_k, v) => (typeof v === "bigint" ? String(v) : v),
      2,
    ),
  );
}
process.exit(checks.every((c) => c.pass) ? 0 : 1);
