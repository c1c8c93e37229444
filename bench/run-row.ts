import { rm, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import {
  type CpuSample,
  cpuPercent,
  type MachineSample,
  machinePercent,
  sampleCpu,
  sampleMachine,
} from "./cpu-sampler.js";
import { GRPC_FRAME_HEADER_BYTES, grpcFrame } from "./grpc-frame.js";
import { readH2loadLog } from "./h2load-log.js";
import { type H2loadOutcome, spawnH2load } from "./h2load-runner.js";
import type { RawCaller } from "./raw-caller.js";
import type { Op, RequestBody } from "./request-bodies.js";
import { type ExpectedShape, responseProblem } from "./response-shape.js";
import type { RowResult, ServerName } from "./results.js";
import { saturatedSide } from "./saturation.js";
import type { ServerProcess } from "./server-process.js";
import { type RequestSample, summarize } from "./stats.js";
import { planGenerators, requestBodies, WORKLOAD_TITLES, type Workload } from "./workloads.js";

/** Generators keep sending this long past the measured window, so it never sees them stop. */
const TAIL_MS = 250;

/** What every row of a run shares. */
export interface RowSettings {
  /** The h2load binary; undefined runs only the checks and marks rows skipped. */
  readonly h2load: string | undefined;
  /** Scratch directory for bodies and logs. */
  readonly workDir: string;
  /** Bearer token the generators and checks send. */
  readonly token: string;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Most generator processes per operation. */
  readonly maxGenerators: number;
}

/** A server (or a `--workers` group behind one address) and the checking client that dials it. */
export interface RowServer {
  readonly server: ServerProcess;
  readonly caller: RawCaller;
}

/** One row to run. */
export interface RowSpec {
  readonly serverName: ServerName;
  /**
   * Where the load goes: generator i dials `servers[i % length]` (several
   * servers on one database: each gets its share of the connections, and
   * the row's ops/s is their sum).
   */
  readonly servers: readonly RowServer[];
  /** The deployment the row measured, for rows of the deployments section. */
  readonly deployment?: string;
  readonly workload: Workload;
  readonly concurrency: number;
  readonly expect: ExpectedShape;
  /** Varies the keys from row to row. */
  readonly seed: number;
}

/**
 * Runs one row: checks each generator's exact body with a real grpc-js call,
 * drives the server with h2load for warm-up + duration, samples CPU over the
 * measured window, reads per-request latencies from the h2load logs, and checks
 * afterwards that every response carried a full message and that the server is
 * still healthy. Any failed check makes the row "failed", never fast.
 *
 * @throws never for a failing server (that is a failed row); only for local I/O errors.
 * @example
 * const row = await runRow(settings, { serverName: "hexclave", server, caller, workload: "get", concurrency: 64, expect, seed: 3 });
 */
export async function runRow(settings: RowSettings, spec: RowSpec): Promise<RowResult> {
  const plans = planGenerators(spec.workload, spec.concurrency, settings.maxGenerators);
  const bodies = requestBodies(plans, spec.expect.space, spec.seed);
  const label = `${WORKLOAD_TITLES[spec.workload]} @${spec.concurrency}`;
  const base = { label, spec, generators: plans.length };

  const problems: string[] = [];
  const responseBytes: number[] = [];
  const target = (i: number): RowServer => spec.servers[i % spec.servers.length] as RowServer;
  for (const [i, body] of bodies.entries()) {
    const checked = await checkCall(target(i).caller, spec.expect, body);
    if (typeof checked === "string") problems.push(`before: ${checked}`);
    else responseBytes.push(checked);
  }
  if (problems.length > 0) return emptyRow(base, "failed", problems, responseBytes[0]);
  if (settings.h2load === undefined) {
    return emptyRow(
      base,
      "skipped",
      ["h2load not found: install nghttp2-client"],
      responseBytes[0],
    );
  }

  const files = bodies.map((_, i) => ({
    body: join(settings.workDir, `row-${spec.seed}-${spec.serverName}-${i}.bin`),
    log: join(settings.workDir, `row-${spec.seed}-${spec.serverName}-${i}.log`),
  }));
  await Promise.all(
    files.map(async (f, i) => {
      await writeFile(f.body, grpcFrame((bodies[i] as RequestBody).message));
      await rm(f.log, { force: true });
    }),
  );

  const startUs = (performance.timeOrigin + performance.now()) * 1000;
  const gens = bodies.map((body, i) =>
    spawnH2load(settings.h2load as string, {
      address: target(i).server.address,
      path: body.path,
      bodyFile: (files[i] as { body: string }).body,
      streams: (plans[i] as { streams: number }).streams,
      durationMs: settings.warmupMs + settings.durationMs + TAIL_MS,
      token: settings.token,
      logFile: (files[i] as { log: string }).log,
    }),
  );
  // Every process of the servers (a --workers primary too), then the generators.
  const serving = spec.servers.map((s) => s.server.servingPids());
  const serverPids = spec.servers.flatMap((s, i) => {
    const workers = serving[i] as number[];
    return workers.includes(s.server.pid) ? workers : [s.server.pid, ...workers];
  });
  const loopPids = new Set(serving.flat());
  const pids = [...serverPids, ...gens.map((g) => g.pid)];
  const [before, after] = await Promise.all([
    sampleAt(pids, settings.warmupMs),
    sampleAt(pids, settings.warmupMs + settings.durationMs),
  ]);
  const outcomes = await Promise.all(gens.map((g) => g.outcome));

  const windowStart = startUs + settings.warmupMs * 1000;
  const windowEnd = windowStart + settings.durationMs * 1000;
  const samplesByOp = new Map<Op, RequestSample[]>();
  for (const [i, body] of bodies.entries()) {
    const samples = await readH2loadLog((files[i] as { log: string }).log).catch(() => []);
    samplesByOp.set(body.op, [...(samplesByOp.get(body.op) ?? []), ...samples]);
    const bytes = responseBytes[i] as number;
    problems.push(...outcomeProblems(outcomes[i] as H2loadOutcome, bytes, i));
  }
  await Promise.all(
    files.flatMap((f) => [rm(f.body, { force: true }), rm(f.log, { force: true })]),
  );

  for (const [i, { server, caller }] of spec.servers.entries()) {
    if (!server.alive()) problems.push(`after: server ${i} exited`);
    else if (!(await caller.healthy())) problems.push(`after: server ${i} not SERVING`);
    else {
      const again = await checkCall(caller, spec.expect, bodies[i % bodies.length] as RequestBody);
      if (typeof again === "string") problems.push(`after: ${again}`);
    }
  }

  const all = [...samplesByOp.values()].flat();
  const total = summarize(all, windowStart, windowEnd);
  const byOp = Object.fromEntries(
    [...samplesByOp].map(([op, samples]) => [op, summarize(samples, windowStart, windowEnd)]),
  );
  if (total.requests === 0) problems.push("no call completed in the measured window");
  const percents = before.processes.map((b, i) => cpuPercent(b, after.processes[i] as CpuSample));
  const serverPercents = percents.slice(0, serverPids.length);
  const serverCpuPct = serverPercents.reduce((a, p) => a + (p.process ?? 0), 0);
  // The busiest event loop among the processes that serve: the first to run out of CPU.
  const serverLoopPct = Math.max(
    0,
    ...serverPercents
      .filter((_, i) => loopPids.has(serverPids[i] as number))
      .map((p) => p.mainThread ?? 0),
  );
  const generatorPercents = percents.slice(serverPids.length).map((p) => p.process ?? 0);
  const generatorCpuPct = generatorPercents.reduce((a, b) => a + b, 0);
  const otherCpuPct = Math.max(
    0,
    machinePercent(before.machine, after.machine) - serverCpuPct - generatorCpuPct,
  );
  const cpu = {
    serverPercent: serverCpuPct,
    serverLoopPercent: serverLoopPct,
    generatorPercents,
    otherPercent: otherCpuPct,
  };
  return {
    row: label,
    workload: spec.workload,
    concurrency: spec.concurrency,
    server: spec.serverName,
    deployment: spec.deployment,
    status: problems.length === 0 ? "ok" : "failed",
    problems,
    opsPerSec: total.opsPerSec,
    p50Ms: total.p50Ms,
    p99Ms: total.p99Ms,
    requests: total.requests,
    byOp,
    setShare:
      spec.workload === "mix" ? (byOp.set?.requests ?? 0) / Math.max(1, total.requests) : undefined,
    serverCpuPct: cpu.serverPercent,
    serverLoopPct: cpu.serverLoopPercent,
    generatorCpuPct,
    otherCpuPct,
    generatorMaxPct: Math.max(0, ...generatorPercents),
    generators: plans.length,
    saturated: saturatedSide(cpu, availableParallelism()),
    responseBytes: responseBytes[0],
  };
}

/** One checked call: the response's byte length, or what went wrong. */
async function checkCall(
  caller: RawCaller,
  expect: ExpectedShape,
  body: RequestBody,
): Promise<number | string> {
  try {
    const response = await caller.call(body.path, body.message);
    return responseProblem(body, response, expect) ?? response.length;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * What h2load's own counts reveal. A gRPC error is an HTTP 200 with no
 * message, so every OK response brings at least `5 + responseBytes` DATA bytes
 * (sizes only grow during a row: versions increase, nothing else changes); a
 * shortfall means some calls were answered with an error status.
 */
function outcomeProblems(outcome: H2loadOutcome, responseBytes: number, i: number): string[] {
  const problems: string[] = [];
  const tag = `generator ${i}`;
  if (outcome.exitCode !== 0) {
    problems.push(`${tag}: h2load exited ${outcome.exitCode}: ${outcome.output.slice(-300)}`);
    return problems;
  }
  if (outcome.failed > 0) problems.push(`${tag}: ${outcome.failed} requests failed in transport`);
  if (outcome.non2xx > 0) problems.push(`${tag}: ${outcome.non2xx} non-2xx HTTP responses`);
  const frame = GRPC_FRAME_HEADER_BYTES + responseBytes;
  const answered = Math.floor(outcome.dataBytes / frame);
  if (!(answered >= outcome.done)) {
    problems.push(
      `${tag}: about ${outcome.done - answered} of ${outcome.done} calls got no full response (gRPC errors)`,
    );
  }
  return problems;
}

function sampleAt(
  pids: readonly number[],
  delayMs: number,
): Promise<{ processes: CpuSample[]; machine: MachineSample }> {
  return new Promise((resolve) =>
    setTimeout(
      () => resolve({ processes: pids.map(sampleCpu), machine: sampleMachine() }),
      delayMs,
    ),
  );
}

function emptyRow(
  base: { label: string; spec: RowSpec; generators: number },
  status: "failed" | "skipped",
  problems: string[],
  responseBytes: number | undefined,
): RowResult {
  return {
    row: base.label,
    workload: base.spec.workload,
    concurrency: base.spec.concurrency,
    server: base.spec.serverName,
    deployment: base.spec.deployment,
    status,
    problems,
    opsPerSec: Number.NaN,
    p50Ms: Number.NaN,
    p99Ms: Number.NaN,
    requests: 0,
    byOp: {},
    setShare: undefined,
    serverCpuPct: Number.NaN,
    serverLoopPct: Number.NaN,
    generatorCpuPct: Number.NaN,
    otherCpuPct: Number.NaN,
    generatorMaxPct: Number.NaN,
    generators: base.generators,
    saturated: undefined,
    responseBytes,
  };
}
