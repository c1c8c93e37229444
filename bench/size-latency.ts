import type { HexclaveLaunch } from "./bench-options.js";
import { measureColdReads } from "./cold-reads.js";
import { residentBytes } from "./cpu-sampler.js";
import { createBenchStore, preload } from "./preload.js";
import { RawCaller } from "./raw-caller.js";
import { storedSealedBytes } from "./response-shape.js";
import type { SizeResult } from "./results.js";
import { type RowSettings, runRow } from "./run-row.js";
import { startHexclave } from "./server-process.js";

/** Concurrencies of the latency-vs-size rows. */
export const SIZE_CONCURRENCY = [1, 16] as const;

/** Distinct never-read entries read one at a time per size (see cold-reads.ts). */
const COLD_READS = 2000;

/**
 * GetValue latency as the table grows: a fresh server is preloaded to each
 * size in turn (the same store keeps growing), and GetValue is measured at
 * concurrency 1 and 16 after each. The server's RSS is read at the end of
 * each size's rows, so the last one is the RSS after the largest run.
 *
 * @throws Error if the server cannot start or a preload write fails.
 * @example
 * const sizes = await measureSizes([10_000, 1_000_000], settings, 64, { nodeArgs: [], cacheMb: undefined, serveArgs: [] });
 */
export async function measureSizes(
  sizes: readonly number[],
  settings: Omit<RowSettings, "token">,
  preloadConcurrency: number,
  launch: HexclaveLaunch,
): Promise<SizeResult[]> {
  const server = await startHexclave(launch);
  const results: SizeResult[] = [];
  try {
    const store = await createBenchStore(server.address, server.adminToken, "sizes");
    const caller = new RawCaller(server.address, store.token);
    try {
      let loaded = 0;
      for (const size of sizes) {
        process.stderr.write(`sizes: preloading to ${size} entries\n`);
        const started = performance.now();
        const space = await preload(store, loaded, size, preloadConcurrency);
        const preloadSeconds = (performance.now() - started) / 1000;
        loaded = size;
        const expect = { space, sealedBytes: await storedSealedBytes(caller, space), opens: true };
        const rows = [];
        for (const concurrency of SIZE_CONCURRENCY) {
          const row = await runRow(
            { ...settings, token: store.token },
            {
              serverName: "hexclave",
              servers: [{ server, caller }],
              workload: "get",
              concurrency,
              expect,
              seed: 101 + concurrency,
            },
          );
          process.stderr.write(
            `  ${size} entries, ${row.row}: ${row.status} ${row.opsPerSec.toFixed(0)}/s\n`,
          );
          rows.push(row);
        }
        const coldReads = await measureColdReads(caller, space, COLD_READS, 7 + size);
        const serverRssBytes = residentBytes(server.pid);
        process.stderr.write(
          `  ${size} entries, ${coldReads.count} cold reads: p50 ${coldReads.p50Ms.toFixed(2)} ms\n`,
        );
        results.push({ entries: size, preloadSeconds, rows, serverRssBytes, coldReads });
      }
    } finally {
      caller.close();
    }
  } finally {
    await server.stop();
  }
  return results;
}
