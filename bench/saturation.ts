/**
 * Which side of a row ran out of CPU. Hexclave and the baseline are
 * single-threaded Node: their event loop (the main thread) near 100% of a core
 * means the server is the limit. An h2load process is single-threaded too. When
 * neither is near a core but the machine's cores are all busy, the two sides
 * are fighting over the CPU; when nothing is busy the row is waiting (round
 * trips at low concurrency, fsync for durable writes). Other processes count
 * towards a busy machine: on a shared machine they, not the server, may be
 * what limits a row.
 */

/** The verdict for one row. */
export type Saturated = "server" | "generator" | "server+generator" | "machine" | "none";

/** A side counts as saturated at this share of one core (%). */
export const BUSY_PERCENT = 85;

/** CPU use over a row's measured window, in % of one core. */
export interface RowCpu {
  /** The server process, all threads (event loop, GC, libuv pool). */
  readonly serverPercent: number;
  /** The server's main thread: its event loop. */
  readonly serverLoopPercent: number;
  /** Each generator process. */
  readonly generatorPercents: readonly number[];
  /** Everything else the machine ran (other processes, kernel). */
  readonly otherPercent: number;
}

/**
 * Judges which side saturated.
 *
 * @param cores CPU cores of the machine (`os.availableParallelism()`).
 * @throws never.
 * @example
 * saturatedSide({ serverPercent: 104, serverLoopPercent: 97, generatorPercents: [12, 11], otherPercent: 3 }, 2); // "server"
 */
export function saturatedSide(cpu: RowCpu, cores: number): Saturated {
  const server = cpu.serverLoopPercent >= BUSY_PERCENT;
  const generator = cpu.generatorPercents.some((p) => p >= BUSY_PERCENT);
  if (server && generator) return "server+generator";
  if (server) return "server";
  if (generator) return "generator";
  const total =
    cpu.serverPercent + cpu.generatorPercents.reduce((a, b) => a + b, 0) + cpu.otherPercent;
  return total >= BUSY_PERCENT * cores ? "machine" : "none";
}
