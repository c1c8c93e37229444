import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU time of processes from /proc (Linux): utime + stime, in clock ticks.
 * Sampled at the start and end of a row's measured window, the difference
 * over the window's wall time is the share of one core the process used.
 */

/** Clock ticks per second (`getconf CLK_TCK`, almost always 100). */
const TICKS_PER_SECOND = ((): number => {
  try {
    const ticks = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds a process (all threads) and its main thread had used, at one instant. */
export interface CpuSample {
  readonly pid: number;
  /** utime + stime of the whole process, in seconds; undefined once it has exited. */
  readonly process: number | undefined;
  /** utime + stime of the main thread (Node's event loop), in seconds. */
  readonly mainThread: number | undefined;
  /** performance.now() when sampled. */
  readonly at: number;
}

/**
 * Reads the CPU time a process has used so far.
 *
 * @throws never; a process that has exited gives undefined times.
 * @example
 * const before = sampleCpu(pid); … const after = sampleCpu(pid);
 * cpuPercent(before, after).process; // 97.5 (% of one core)
 */
export function sampleCpu(pid: number): CpuSample {
  return {
    pid,
    process: readTicks(`/proc/${pid}/stat`),
    mainThread: readTicks(`/proc/${pid}/task/${pid}/stat`),
    at: performance.now(),
  };
}

/**
 * The share of one core used between two samples of the same process, in %.
 *
 * @throws never; undefined where either sample is missing.
 * @example
 * cpuPercent(before, after); // { process: 112.0, mainThread: 98.4 }
 */
export function cpuPercent(
  before: CpuSample,
  after: CpuSample,
): { process: number | undefined; mainThread: number | undefined } {
  const seconds = (after.at - before.at) / 1000;
  const pct = (a: number | undefined, b: number | undefined): number | undefined =>
    a === undefined || b === undefined || seconds <= 0 ? undefined : ((b - a) / seconds) * 100;
  return {
    process: pct(before.process, after.process),
    mainThread: pct(before.mainThread, after.mainThread),
  };
}

/**
 * The resident set size of a process (VmRSS), in bytes.
 *
 * @throws never; undefined if the process has exited.
 * @example
 * const rss = residentBytes(server.pid); // 98_304_000
 */
export function residentBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

function readTicks(path: string): number | undefined {
  try {
    const stat = readFileSync(path, "utf8");
    // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields 14 and 15 of the man page (utime, stime) are 11 and 12 after the name.
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Busy CPU seconds of the whole machine (all cores), at one instant. */
export interface MachineSample {
  readonly busy: number;
  readonly at: number;
}

/**
 * Reads the machine's total busy CPU time from /proc/stat (user, nice,
 * system, irq, softirq, steal; all cores). Over a row's window, minus the
 * server and the generators, it shows how much else was running — other
 * processes on a shared machine make a row's numbers unreliable.
 *
 * @throws never; busy is NaN where /proc/stat cannot be read.
 * @example
 * const m0 = sampleMachine(); … const m1 = sampleMachine();
 * machinePercent(m0, m1); // 180 (% of one core; 200 = both cores of 2 busy)
 */
export function sampleMachine(): MachineSample {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    const busy = [user, nice, system, irq, softirq, steal].reduce<number>(
      (a, b) => a + (b ?? 0),
      0,
    );
    return { busy: busy / TICKS_PER_SECOND, at: performance.now() };
  } catch {
    return { busy: Number.NaN, at: performance.now() };
  }
}

/**
 * The machine's busy share between two samples, in % of one core.
 *
 * @throws never.
 * @example
 * machinePercent(m0, m1); // 187.5
 */
export function machinePercent(before: MachineSample, after: MachineSample): number {
  const seconds = (after.at - before.at) / 1000;
  return seconds > 0 ? ((after.busy - before.busy) / seconds) * 100 : Number.NaN;
}

/**
 * The processes whose parent is `pid` (a cluster primary's workers, a
 * postmaster's backends), from /proc.
 *
 * @throws never; [] if /proc cannot be read.
 * @example
 * childPids(primary.pid); // [4242, 4243]
 */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return children;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // Field 4 (ppid) is the second after the command name, which may hold spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) children.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return children;
}
