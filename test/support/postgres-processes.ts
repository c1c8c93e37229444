import { existsSync, readdirSync, readFileSync } from "node:fs";
import { readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * The processes of a throwaway cluster, seen through /proc (the suite runs
 * on Linux): killing all of them at once for crash tests, stopping them if
 * the test process ends first, and sweeping up clusters a killed run left.
 */

/** Temp directories of test clusters start with this, in os.tmpdir(). */
export const CLUSTER_DIR_PREFIX = "hexclave-pg-";
/** File in a cluster's temp directory naming the pid of the process that owns it. */
export const OWNER_FILE = "owner.pid";

/** The postmaster's pid from `<dataDir>/postmaster.pid`, if the file is there. */
export function postmasterPid(dataDir: string): number | undefined {
  const file = join(dataDir, "postmaster.pid");
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "latin1").split("\n")[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * SIGKILLs the postmaster of `dataDir` and every server process it had
 * forked, as a machine losing the server would, and resolves once all are
 * gone. The postmaster is stopped first so it cannot fork while its
 * children are listed; children are killed too because PostgreSQL will not
 * start again while an orphaned backend still holds the shared memory.
 */
export async function killServerProcesses(dataDir: string): Promise<void> {
  const pids = signalServerProcesses(dataDir);
  const deadline = Date.now() + 30_000;
  let delay = 5;
  while (!pids.every(isGone)) {
    if (Date.now() > deadline) throw new Error(`PostgreSQL processes ${pids} survived SIGKILL`);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 100);
  }
}

/**
 * The synchronous half of {@link killServerProcesses}: sends the signals
 * and returns the pids without waiting (usable in a process "exit" handler).
 * Does nothing unless the pid file names a live postmaster of this data directory.
 */
export function signalServerProcesses(dataDir: string): number[] {
  const pid = postmasterPid(dataDir);
  if (pid === undefined || isGone(pid) || !commandLine(pid).includes(dataDir)) return [];
  signal(pid, "SIGSTOP");
  const pids = [pid, ...childrenOf(pid)];
  for (const p of pids) signal(p, "SIGKILL");
  return pids;
}

/**
 * Stops and deletes the clusters whose owning process is dead: a test run
 * killed with SIGKILL cannot clean up after itself, so the next run does.
 * A directory without an owner file may be one being created right now
 * (another worker, another worktree): it is left alone unless it is old.
 */
export async function sweepAbandonedClusters(): Promise<string[]> {
  const swept: string[] = [];
  for (const name of await readdir(tmpdir())) {
    if (!name.startsWith(CLUSTER_DIR_PREFIX)) continue;
    const root = join(tmpdir(), name);
    const owner = Number(await readFile(join(root, OWNER_FILE), "latin1").catch(() => "NaN"));
    if (Number.isNaN(owner)) {
      const age = Date.now() - (await stat(root)).mtimeMs;
      if (age < 10 * 60_000) continue;
    } else if (!isGone(owner)) {
      continue;
    }
    await killServerProcesses(join(root, "data"));
    await rm(root, { recursive: true, force: true });
    swept.push(root);
  }
  return swept;
}

/** True once `pid` has exited (a zombie counts: an init that never reaps must not hang us). */
export function isGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

function childrenOf(parent: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "latin1");
      // Fields after "(comm)": state, ppid, … (comm may itself hold spaces and parentheses).
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === parent) children.push(Number(entry));
    } catch {
      // The process exited while we listed it.
    }
  }
  return children;
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "latin1").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}

/**
 * Emergency stops of the clusters this process has not closed yet: vitest
 * ends its workers with SIGTERM, which skips afterAll hooks and "exit"
 * handlers, and a postmaster must not outlive the run. (A SIGKILLed process
 * cannot do this; the next run sweeps what it left.)
 */
const unclosed = new Set<() => void>();
const SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP"] as const;

/**
 * Runs `emergencyStop` (synchronous: it runs in an "exit" handler) if this
 * process exits or is signalled before {@link notAtExit} cancels it.
 */
export function stopAtExit(emergencyStop: () => void): void {
  if (unclosed.size === 0) {
    process.on("exit", stopAll);
    for (const signal of SIGNALS) process.on(signal, onSignal);
  }
  unclosed.add(emergencyStop);
}

/** Cancels {@link stopAtExit}: the cluster was closed the normal way. */
export function notAtExit(emergencyStop: () => void): void {
  unclosed.delete(emergencyStop);
  if (unclosed.size === 0) detach();
}

function detach(): void {
  process.off("exit", stopAll);
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

function stopAll(): void {
  for (const emergencyStop of unclosed) emergencyStop();
  unclosed.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  stopAll();
  detach();
  // Then what the signal would have done without us (or what other listeners do with it).
  process.kill(process.pid, signal);
}
