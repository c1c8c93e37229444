import { readFile } from "node:fs/promises";
import type { RequestSample } from "./stats.js";

/**
 * Reads an h2load `--log-file`: one line per request, tab-separated: start
 * time (µs since the epoch), HTTP status, latency (µs). The file is the only
 * per-request record h2load keeps, so percentiles come from here.
 *
 * @throws Error if the file cannot be read (h2load never started, or wrote nothing).
 * @example
 * const samples = await readH2loadLog("/tmp/row-3/gen-0.log");
 */
export async function readH2loadLog(path: string): Promise<RequestSample[]> {
  const text = await readFile(path, "utf8");
  const samples: RequestSample[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const [start, , latency] = line.split("\t");
    const startUs = Number(start);
    const latencyUs = Number(latency);
    if (Number.isFinite(startUs) && Number.isFinite(latencyUs)) {
      samples.push({ endUs: startUs + latencyUs, latencyUs });
    }
  }
  return samples;
}
