import { rm } from "node:fs/promises";
import type { ClientHttp2Session } from "node:http2";
import { setUpFixture } from "./attack-fixture.js";
import {
  type AttackServer,
  type AttackServerConfig,
  freshServerConfig,
  type ServerOutput,
  SHUTDOWN_LIMIT_MS,
  startAttackServer,
} from "./attack-server.js";
import { probeAt } from "./fuzz-probes.js";
import { FuzzTally } from "./fuzz-tally.js";
import { healthServing } from "./grpc-unary.js";
import { sendH2FrameProbe } from "./h2-frame-probes.js";
import { type LogLeak, scanServerOutput } from "./leak-patterns.js";
import { connectRaw, rawCall, sessionUsable } from "./raw-grpc-call.js";
import type { AttackFixture } from "./rpc-targets.js";

/**
 * The fuzzer: a real `hexclave serve` process over a fresh data dir, given
 * real stores, entries and tokens, then `requests` malformed requests over
 * `connections` HTTP/2 connections. Checks: the server never dies and is
 * SERVING at the end, no answer is INTERNAL or UNKNOWN or leaks, no call
 * hangs, no log line leaks, and its RSS stays within a bound.
 */

/** Options of one run. */
export interface FuzzOptions {
  readonly requests: number;
  readonly seed: string;
  readonly connections: number;
  /** Calls in flight per connection (default 8). */
  readonly streamsPerConnection?: number;
  /**
   * The RSS growth allowed over the run, in MiB (default 400: V8 grows its
   * heap under load and keeps it; flatness, not size, shows there is no leak).
   */
  readonly rssBoundMb?: number;
  /** The server's log level (default "debug", so refusals are logged and checked too). */
  readonly logLevel?: string;
  /** Only these probe numbers (reproducing a failure): up to 10 one at a time, more as a normal run. */
  readonly replay?: readonly number[];
  /** Called with progress lines. */
  readonly progress?: (line: string) => void;
  /** Run after the probes, against the same server (the CLI's header flood rounds). */
  readonly extra?: ((server: () => AttackServer, fx: AttackFixture) => Promise<void>) | undefined;
}

/** A crash seen during the run. */
export interface CrashRecord {
  readonly afterProbes: number;
  readonly exit: string;
  readonly inFlight: readonly string[];
  readonly stderrTail: readonly string[];
}

/** The run's result. */
export interface FuzzReport {
  readonly seed: string;
  readonly requests: number;
  readonly connections: number;
  readonly durationMs: number;
  readonly tally: FuzzTally;
  readonly crashes: readonly CrashRecord[];
  readonly aliveAtEnd: boolean;
  readonly servingAtEnd: boolean;
  /** How the server ended on SIGTERM after the run ("0": cleanly). */
  readonly shutdown: string;
  /** What it printed from SIGTERM on. */
  readonly shutdownLog: readonly string[];
  readonly rss: {
    beforeKb: number;
    afterKb: number;
    peakKb: number;
    boundKb: number;
    /** RSS every 5% of the run. */
    samples: readonly { probes: number; rssKb: number }[];
  };
  readonly logLeaks: readonly LogLeak[];
  readonly logLines: { stdout: number; stderr: number };
  /** stderr lines, secrets masked, the first few of each kind. */
  readonly stderrSample: readonly string[];
  readonly replayed: readonly { index: number; probe: string; outcome: string }[];
}

/**
 * Runs the fuzzer.
 *
 * @throws Error if the server cannot be started or set up at all.
 * @example
 * const report = await runFuzz({ requests: 3000, seed: "hexclave-fuzz", connections: 4 });
 */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const started = performance.now();
  const config: AttackServerConfig = {
    ...(await freshServerConfig("hexclave-fuzz-")),
    logLevel: options.logLevel ?? "debug",
  };
  const output: ServerOutput = { stdout: [], stderr: [] };
  let server = await startAttackServer(config, output);
  try {
    const fx = await setUpFixture(server.address, config.adminToken, options.seed);
    const before = server.memory();
    const tally = new FuzzTally(fx.known);
    const crashes: CrashRecord[] = [];
    const inFlight = new Map<number, string>();
    let completed = 0;
    const rssSamples: { probes: number; rssKb: number }[] = [];
    let restarting: Promise<void> | undefined;

    const watchCrash = (s: AttackServer): void => {
      void s.closed.then((exit) => {
        if (s !== server || stopping) return;
        crashes.push({
          afterProbes: completed,
          exit: `${exit.code ?? exit.signal}`,
          inFlight: [...inFlight.values()].slice(0, 20),
          stderrTail: output.stderr.slice(-15),
        });
        options.progress?.(`server died (${exit.code ?? exit.signal}); restarting`);
        restarting = startAttackServer(config, output).then((next) => {
          server = next;
          watchCrash(next);
          restarting = undefined;
        });
      });
    };
    let stopping = false;
    watchCrash(server);

    const replayed: { index: number; probe: string; outcome: string }[] = [];
    const indices = options.replay ?? Array.from({ length: options.requests }, (_, i) => i);
    let next = 0;
    const total = indices.length;
    // A handful of replayed probes run one at a time, to be read; a range runs as a normal run.
    const one = options.replay !== undefined && options.replay.length <= 10;
    const slots = one ? 1 : (options.streamsPerConnection ?? 8);
    const lanes = one ? 1 : options.connections;
    const reportEvery = Math.max(1, Math.floor(total / 20));

    const lane = async (): Promise<void> => {
      let session: ClientHttp2Session | undefined;
      const sharedSession = (): ClientHttp2Session => {
        if (session === undefined || !sessionUsable(session)) {
          session?.destroy();
          session = connectRaw(server.address);
        }
        return session;
      };
      const slot = async (): Promise<void> => {
        for (let n = next++; n < total; n = next++) {
          if (restarting !== undefined) await restarting;
          const index = indices[n] as number;
          const probe = probeAt(options.seed, index, fx);
          inFlight.set(index, `#${index} ${probe.category}: ${probe.label}`.slice(0, 160));
          if (probe.transport === "socket") {
            const outcome = await sendH2FrameProbe(server.address, probe);
            tally.recordFrames(probe, outcome);
            if (one) replayed.push({ index, probe: probe.label, outcome: outcome.kind });
          } else {
            const own = probe.connection === "own" ? connectRaw(server.address) : undefined;
            const outcome = await rawCall(own ?? sharedSession(), probe.request);
            own?.destroy();
            tally.record(probe, outcome);
            if (one) {
              replayed.push({
                index,
                probe: `${probe.category} ${probe.target.path}: ${probe.label}`,
                outcome: `${outcome.kind} ${outcome.grpcStatus ?? outcome.httpStatus ?? outcome.errorCode ?? ""} ${outcome.grpcMessage ?? outcome.detail ?? ""}`,
              });
            }
          }
          inFlight.delete(index);
          completed += 1;
          if (completed % reportEvery === 0) {
            const seconds = (performance.now() - started) / 1000;
            const rssKb = server.memory()?.rssKb ?? 0;
            rssSamples.push({ probes: completed, rssKb });
            options.progress?.(
              `${completed}/${total} probes, ${Math.round(completed / seconds)}/s, server RSS ${(rssKb / 1024).toFixed(0)} MB`,
            );
          }
        }
      };
      await Promise.all(Array.from({ length: slots }, slot));
      session?.destroy();
    };
    await Promise.all(Array.from({ length: lanes }, lane));
    if (restarting !== undefined) await restarting;

    // Measured before any extra rounds, so the figure is the fuzzer's alone.
    const after = server.memory();
    await options.extra?.(() => server, fx);

    const aliveAtEnd = server.alive();
    const servingAtEnd = aliveAtEnd && (await healthServing(server.address));
    stopping = true;
    const fromLine = output.stdout.length;
    const fromErr = output.stderr.length;
    const shutdown = await server.terminate(SHUTDOWN_LIMIT_MS);
    const shutdownLog = [...output.stdout.slice(fromLine), ...output.stderr.slice(fromErr)]
      .slice(0, 20)
      .map((line) => maskLine(line, fx).slice(0, 300));
    const logLeaks = scanServerOutput(output, fx.known);
    const boundKb = (options.rssBoundMb ?? 400) * 1024;
    return {
      seed: options.seed,
      requests: total,
      connections: lanes,
      durationMs: performance.now() - started,
      tally,
      crashes,
      aliveAtEnd,
      servingAtEnd,
      shutdown,
      shutdownLog,
      rss: {
        beforeKb: before?.rssKb ?? 0,
        afterKb: after?.rssKb ?? 0,
        peakKb: after?.peakKb ?? 0,
        boundKb,
        samples: rssSamples,
      },
      logLeaks,
      logLines: { stdout: output.stdout.length, stderr: output.stderr.length },
      stderrSample: sampleStderr(output.stderr, fx),
      replayed,
    };
  } finally {
    if (server.alive()) await server.stop("SIGKILL");
    await rm(config.dataDir, { recursive: true, force: true });
  }
}

/** The first stderr line of each kind (its first 40 characters), secrets masked. */
function sampleStderr(lines: readonly string[], fx: AttackFixture): string[] {
  const seen = new Map<string, number>();
  const out: string[] = [];
  for (const line of lines) {
    const masked = maskLine(line, fx);
    const kind = masked.slice(0, 40);
    const n = (seen.get(kind) ?? 0) + 1;
    seen.set(kind, n);
    if (n === 1) out.push(masked.slice(0, 240));
  }
  return out.map((line) => {
    const n = seen.get(line.slice(0, 40)) ?? 1;
    return n > 1 ? `${line}  (×${n})` : line;
  });
}

function maskLine(line: string, fx: AttackFixture): string {
  let out = line;
  for (const { what, text } of fx.known.values) out = out.replaceAll(text, `<${what}>`);
  return out;
}
