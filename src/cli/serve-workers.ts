import cluster, { type Worker } from "node:cluster";
import { randomBytes } from "node:crypto";
import type { ServerFlags } from "../server/server-config.js";
import type { PreparedGroup } from "../server/worker-group.js";
import { serveOne } from "./serve-command.js";

/** A worker that dies this soon after it started is crash-looping: restarts slow down. */
const QUICK_DEATH_MS = 5_000;

interface WorkerReport {
  readonly type: "serving";
  readonly address: string;
  /** The HTTP listener's address, if `--http-listen` runs one. */
  readonly http: string | undefined;
}

/** How a worker ended. */
interface WorkerExit {
  readonly code: number | null;
  readonly signal: string | null;
}

/**
 * `hexclave serve --workers N`: N server processes on one listener (address
 * or Unix socket; node:cluster shares it, round robin) and one database —
 * the SQLite file or PostgreSQL — with the same coherence guarantees as
 * separate replicas (the vault treats the database as shared: docs/storage.md,
 * "Coherence across processes").
 *
 * The leader does not serve. It prepares the data once (the data-directory
 * lock, migrations, the first admin token), starts the workers, restarts
 * one that dies (and says so), and on SIGTERM/SIGINT drains them all and
 * exits 0 — 1 if a worker did not stop cleanly. A worker that fails before
 * the group first serves (a port in use, say) fails the whole start: the
 * leader stops the others and exits 1 rather than restart it forever.
 */
export async function serveWorkers(flags: ServerFlags, workers: number): Promise<void> {
  if (!cluster.isPrimary) {
    // A worker: serve as one of the group the leader named.
    const server = await serveOne(flags, process.env.HEXCLAVE_WORKER_OF);
    process.send?.({
      type: "serving",
      address: server.address,
      http: server.httpAddress,
    } satisfies WorkerReport);
    return;
  }
  // Signals are handled from the first moment: a SIGTERM while the leader still
  // waits for its database ends in the same clean stop, exit 0.
  const starting = new AbortController();
  let stopSignal: NodeJS.Signals | undefined;
  let stopGroup: (() => void) | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopSignal !== undefined) return;
    stopSignal = signal;
    if (stopGroup === undefined) starting.abort();
    else stopGroup();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);

  const { prepareGroup } = await import("../server/worker-group.js");
  // /metrics on any worker serves the whole group's, gathered here.
  (await import("../server/metrics/cluster-metrics.js")).serveClusterMetrics();
  const groupId = randomBytes(8).toString("hex");
  let group: PreparedGroup;
  try {
    group = await prepareGroup(flags, groupId, starting.signal);
  } catch (error) {
    if (starting.signal.aborted) process.exit(0);
    throw error;
  }
  const log = group.log;
  const live = new Map<Worker, Promise<WorkerExit>>();
  let serving = false;
  let quickDeaths = 0;

  const finish = async (code: number): Promise<never> => {
    const exits = await Promise.all(live.values());
    await group.release();
    const unclean = exits.filter((e) => e.code !== 0);
    if (unclean.length > 0) log.error({ exits: unclean }, "workers did not stop cleanly");
    log.info("stopped");
    process.exit(unclean.length > 0 ? Math.max(code, 1) : code);
  };
  stopGroup = () => {
    process.stderr.write(`hexclave: ${stopSignal}: shutting down ${live.size} workers\n`);
    for (const worker of live.keys()) worker.process.kill("SIGTERM");
    void finish(0);
  };

  const fork = (index: number): Worker => {
    const worker = cluster.fork({
      HEXCLAVE_WORKER_OF: groupId,
      HEXCLAVE_WORKER_INDEX: String(index),
    });
    const bornAt = Date.now();
    log.info({ worker: index, pid: worker.process.pid }, "worker started");
    const exited = new Promise<WorkerExit>((resolve) =>
      worker.once("exit", (code, signal) => resolve({ code, signal })),
    );
    live.set(worker, exited);
    void exited.then(({ code, signal }) => {
      live.delete(worker);
      if (stopSignal !== undefined) return;
      if (!serving) {
        // The group never served: whatever stopped this worker will stop the next one too.
        log.fatal(
          { worker: index, pid: worker.process.pid, code, signal },
          "a worker failed to start: stopping the group (its error is above)",
        );
        stopSignal = "SIGTERM";
        for (const other of live.keys()) other.process.kill("SIGTERM");
        void finish(1);
        return;
      }
      quickDeaths = Date.now() - bornAt < QUICK_DEATH_MS ? quickDeaths + 1 : 0;
      const delay = Math.min(30_000, 2 ** Math.min(quickDeaths, 5) * 100);
      log.error(
        { worker: index, pid: worker.process.pid, code, signal, restartInMs: delay },
        "a worker died: restarting it",
      );
      setTimeout(() => {
        if (stopSignal === undefined) fork(index);
      }, delay);
    });
    return worker;
  };

  if (group.clearStaleSocket !== undefined) await group.clearStaleSocket();
  const first = Array.from({ length: workers }, (_, i) => fork(i + 1));
  const reports = await Promise.all(first.map(servingReport));
  if (stopSignal !== undefined) return;
  serving = true;
  log.info(
    {
      address: reports[0]?.address,
      ...(reports[0]?.http === undefined ? {} : { http: reports[0].http }),
      workers,
      group: groupId,
      dataDir: group.dataDir,
    },
    "hexclave serving",
  );
}

/**
 * Resolves with a worker's "serving" report. Other messages travel on the
 * same channel (the group's metrics: a scrape of a worker already serving
 * asks every worker, the ones still starting included) and are skipped.
 */
function servingReport(worker: Worker): Promise<WorkerReport> {
  return new Promise((resolve) => {
    const listen = (message: Partial<WorkerReport> | undefined): void => {
      if (message?.type !== "serving") return;
      worker.off("message", listen);
      resolve(message as WorkerReport);
    };
    worker.on("message", listen);
  });
}
