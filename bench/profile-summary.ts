/**
 * Top self-time functions of a V8 CPU profile (`node --cpu-prof`), e.g. the
 * one `npm run bench -- --cpu-prof DIR` makes of the real server:
 *
 *   node dist/bench/profile-summary.js DIR/CPU.*.cpuprofile [--top 25]
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** One function's share of the profile. */
export interface SelfTime {
  /** "name (file:line)". */
  readonly where: string;
  readonly ms: number;
  /** Share of all sampled time, %. */
  readonly percent: number;
}

/**
 * Sums each function's self time (the samples taken while it was on top of
 * the stack), merging the nodes of one function across call paths.
 *
 * @throws never for a well-formed profile.
 * @example
 * const top = selfTimes(JSON.parse(text)).slice(0, 20);
 */
export function selfTimes(profile: CpuProfile): SelfTime[] {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const node = byNode.get(id);
    const delta = profile.timeDeltas[i] ?? 0;
    if (node === undefined) return;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url === "" ? "" : ` (${shorten(url)}:${lineNumber + 1})`;
    const where = `${functionName === "" ? "(anonymous)" : functionName}${file}`;
    totals.set(where, (totals.get(where) ?? 0) + delta);
    all += delta;
  });
  return [...totals]
    .map(([where, us]) => ({ where, ms: us / 1000, percent: all > 0 ? (us / all) * 100 : 0 }))
    .sort((a, b) => b.ms - a.ms);
}

function shorten(url: string): string {
  const at = url.lastIndexOf("node_modules/");
  if (at >= 0) return url.slice(at + "node_modules/".length);
  const dist = url.lastIndexOf("/dist/");
  return dist >= 0 ? url.slice(dist + "/dist/".length) : url.replace(/^file:\/\//, "");
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: "string", default: "25" } },
  });
  const top = Number(values.top);
  for (const file of positionals) {
    const profile = JSON.parse(await readFile(file, "utf8")) as CpuProfile;
    const times = selfTimes(profile);
    const total = times.reduce((a, t) => a + t.ms, 0);
    process.stdout.write(`${file}: ${(total / 1000).toFixed(1)} s sampled\n`);
    for (const t of times.slice(0, top)) {
      process.stdout.write(
        `${t.percent.toFixed(1).padStart(6)}%  ${t.ms.toFixed(0).padStart(7)} ms  ${t.where}\n`,
      );
    }
  }
}

if (process.argv[1]?.endsWith("profile-summary.js")) {
  main().catch((error: unknown) => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  });
}
