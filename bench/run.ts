/**
 * `npm run bench`: Hexclave against a no-op gRPC baseline, side by side, plus
 * client-side cost and latency vs store size. See bench/README.md.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { measureAuthTiming } from "./auth-timing.js";
import { type BenchOptions, parseBenchOptions, USAGE } from "./bench-options.js";
import { measureClientCost } from "./client-cost.js";
import { residentBytes } from "./cpu-sampler.js";
import { measureDeployments } from "./deployment-rows.js";
import { findH2load } from "./h2load-runner.js";
import { createBenchStore, preload } from "./preload.js";
import { RawCaller } from "./raw-caller.js";
import { formatReport } from "./report.js";
import { storedSealedBytes } from "./response-shape.js";
import type { BenchReport, RowResult, ServerName } from "./results.js";
import { type RowSettings, runRow } from "./run-row.js";
import { type ServerProcess, startHexclave, startNoop } from "./server-process.js";
import { measureSizes } from "./size-latency.js";

const NO_H2LOAD = "h2load not found: install nghttp2-client";

async function main(): Promise<number> {
  const parsed = parseBenchOptions(process.argv.slice(2));
  if (parsed === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  const options = parsed;
  if (options.durationMs <= 0) throw new Error("--duration must be more than 0 seconds");
  const h2load = findH2load();
  if (h2load === undefined) {
    if (!options.quick) {
      process.stderr.write(`${NO_H2LOAD} (apt-get install -y nghttp2-client)\n`);
      return 1;
    }
    process.stderr.write(`${NO_H2LOAD}: quick mode checks every request body but drives no load\n`);
  }
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const workDir = await mkdtemp(join(tmpdir(), "hexclave-bench-work-"));
  try {
    const settings = {
      h2load,
      workDir,
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
      maxGenerators: options.maxGenerators,
    };
    const main = options.main
      ? await mainRows(options, settings)
      : {
          rows: [],
          preload: { entries: 0, seconds: 0, sealedBytes: 0 },
          serverRssBytes: undefined,
          noopRssBytes: undefined,
        };
    const deployments =
      options.deployments.length === 0
        ? undefined
        : await measureDeployments(
            {
              ids: options.deployments,
              rounds: options.rounds,
              compareBuild: options.compareBuild,
              entries: options.deploymentEntries,
              preloadConcurrency: options.preloadConcurrency,
              launch: {
                ...options.server,
                nodeArgs: [
                  ...options.server.nodeArgs,
                  ...(options.cpuProfDir === undefined
                    ? []
                    : ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfDir}`]),
                ],
              },
            },
            settings,
          );
    let clientCost: BenchReport["clientCost"];
    if (options.clientCost) {
      process.stderr.write("client cost: micro-benchmarks\n");
      clientCost = await measureClientCost(
        options.quick
          ? { sealOps: 2_000, scrypt: 1, pbkdf2: 1 }
          : { sealOps: 20_000, scrypt: 5, pbkdf2: 5 },
      );
    }
    const authTiming =
      options.authCalls > 0 ? await measureAuthTiming(options.authCalls) : undefined;
    const sizes =
      options.sizes.length === 0
        ? []
        : await measureSizes(options.sizes, settings, options.preloadConcurrency, options.server);
    const report: BenchReport = {
      command: commandLine(),
      startedAt,
      machine: {
        cpus: availableParallelism(),
        cpuModel: cpus()[0]?.model.trim() ?? "unknown CPU",
        node: process.version,
      },
      settings: { ...options, h2load: h2load ?? null },
      preload: main.preload,
      rows: main.rows,
      clientCost,
      sizes,
      deployments,
      authTiming,
      serverRssBytes: main.serverRssBytes,
      noopRssBytes: main.noopRssBytes,
      totalSeconds: (performance.now() - started) / 1000,
    };
    const text = formatReport(report);
    const json = `${JSON.stringify(report, null, 2)}\n`;
    if (options.json === "-") {
      process.stderr.write(text);
      process.stdout.write(json);
    } else {
      process.stdout.write(text);
      if (options.json !== undefined) await writeFile(options.json, json);
    }
    const failed = [
      ...report.rows,
      ...sizes.flatMap((s) => s.rows),
      ...(deployments?.rows ?? []),
    ].filter((r) => r.status === "failed");
    const wrongAuth =
      (authTiming?.wire.wrongOutcomes ?? 0) + (authTiming?.inProcess.wrongOutcomes ?? 0);
    return failed.length === 0 && wrongAuth === 0 ? 0 : 1;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/** The main rows: every workload × concurrency, Hexclave then the baseline with the same keys. */
async function mainRows(
  options: BenchOptions,
  settings: Omit<RowSettings, "token">,
): Promise<{
  rows: RowResult[];
  preload: BenchReport["preload"];
  serverRssBytes: number | undefined;
  noopRssBytes: number | undefined;
}> {
  const real = await startHexclave({
    nodeArgs: [
      ...options.server.nodeArgs,
      ...(options.cpuProfDir === undefined
        ? []
        : ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfDir}`]),
    ],
    cacheMb: options.server.cacheMb,
    serveArgs: options.server.serveArgs,
  });
  let noop: ServerProcess | undefined;
  const callers: RawCaller[] = [];
  try {
    const store = await createBenchStore(real.address, real.adminToken, "bench");
    process.stderr.write(`preload: ${options.entries} entries through the SDK\n`);
    const preloadStarted = performance.now();
    const space = await preload(store, 0, options.entries, options.preloadConcurrency);
    const preloadSeconds = (performance.now() - preloadStarted) / 1000;
    const realCaller = new RawCaller(real.address, store.token);
    callers.push(realCaller);
    const sealedBytes = await storedSealedBytes(realCaller, space);
    const servers: {
      name: ServerName;
      server: ServerProcess;
      caller: RawCaller;
      opens: boolean;
    }[] = [];
    if (options.servers.includes("hexclave")) {
      servers.push({ name: "hexclave", server: real, caller: realCaller, opens: true });
    }
    if (options.servers.includes("noop")) {
      noop = await startNoop(sealedBytes);
      const noopCaller = new RawCaller(noop.address, store.token);
      callers.push(noopCaller);
      servers.push({ name: "noop", server: noop, caller: noopCaller, opens: false });
    }
    const rows: RowResult[] = [];
    let seed = 0;
    for (const workload of options.workloads) {
      for (const concurrency of options.concurrency) {
        seed += 1;
        for (const s of servers) {
          const row = await runRow(
            { ...settings, token: store.token },
            {
              serverName: s.name,
              servers: [{ server: s.server, caller: s.caller }],
              workload,
              concurrency,
              expect: { space, sealedBytes, opens: s.opens },
              seed,
            },
          );
          process.stderr.write(
            `${row.row.padEnd(18)} ${s.name.padEnd(8)} ${row.status} ${Number.isFinite(row.opsPerSec) ? Math.round(row.opsPerSec) : "—"} ops/s ${row.problems.join("; ")}\n`,
          );
          rows.push(row);
        }
      }
    }
    return {
      rows,
      preload: { entries: options.entries, seconds: preloadSeconds, sealedBytes },
      serverRssBytes: residentBytes(real.pid),
      noopRssBytes: noop === undefined ? undefined : residentBytes(noop.pid),
    };
  } finally {
    for (const caller of callers) caller.close();
    await Promise.all([real.stop(), noop?.stop()]);
  }
}

function commandLine(): string {
  const args = process.argv.slice(2).join(" ");
  if (process.env.npm_lifecycle_event === "bench") {
    return args === "" ? "npm run bench" : `npm run bench -- ${args}`;
  }
  return `node dist/bench/run.js ${args}`.trimEnd();
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
