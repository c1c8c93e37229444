/**
 * Prints the report of a saved run again, from its `--json` file — e.g. after
 * the report's layout changed, or to paste a run into bench/README.md:
 *
 *   node dist/bench/render-report.js results.json
 */
import { readFile } from "node:fs/promises";
import { formatReport } from "./report.js";
import type { BenchReport } from "./results.js";

const file = process.argv[2];
if (file === undefined) {
  process.stderr.write("usage: node dist/bench/render-report.js results.json\n");
  process.exit(2);
}
// JSON turns the NaNs of failed rows into null; the formatter prints both as "—".
const report = JSON.parse(await readFile(file, "utf8")) as BenchReport;
process.stdout.write(formatReport(report));
