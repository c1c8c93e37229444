import cluster, { type Worker } from "node:cluster";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import type { ServerFlags } from "../server/server-config.js";
import { serveOne } from "./serve-command.js";

/** A worker that dies this soon after it started is crash-looping: restarts slow down. */
const QUICK_DEATH_MS = 5_000;

interface WorkerReport {
  readonly type: "serving";
  readonly address: string;
  /** The HTTP listener's address, if `--http-listen` runs one. */
  readonly http: string | undefined;
}

/**
 * `hexclave serve --workers N`: N server processes on one listener (address
 * or Unix socket; node:cluster shares it, round robin) and one database —
 * the SQLite file or PostgreSQL — with the same coherence guarantees as
 * separate replicas (the vault treats the database as shared: docs/storage.md).
 *
 * The leader does not serve. It prepares the data once (the data-directory
 * lock, migrations, the first admin token), starts the workers, restarts
 * one that dies (and says so), and on SIGTERM/SIGINT drains them all and
 * exits 0.
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
  const { prepareGroup } = await import("../server/worker-group.js");
  // /metrics on any worker serves the whole group's, gathered here.
  (await import("../server/metrics/cluster-metrics.js")).serveClusterMetrics();
  const groupId = randomBytes(8).toString("hex");
  const group = await prepareGroup(flags, groupId);
  const log = group.log;
  let stopping = false;
  const started = new Map<Worker, number>();
  let quickDeaths = 0;

  const fork = (index: number): Worker => {
    const worker = cluster.fork({
      HEXCLAVE_WORKER_OF: groupId,
      HEXCLAVE_WORKER_INDEX: String(index),
    });
    started.set(worker, Date.now());
    worker.on("exit", (code, signal) => {
      const lived = Date.now() - (started.get(worker) ?? 0);
      started.delete(worker);
      if (stopping) return;
      quickDeaths = lived < QUICK_DEATH_MS ? quickDeaths + 1 : 0;
      const delay = Math.min(30_000, 2 ** Math.min(quickDeaths, 5) * 100);
      log.error(
        { worker: index, pid: worker.process.pid, code, signal, restartInMs: delay },
        "a worker died: restarting it",
      );
      setTimeout(() => {
        if (!stopping) fork(index);
      }, delay);
    });
    return worker;
  };

  const first = Array.from({ length: workers }, (_, i) => fork(i + 1));
  const reports = await Promise.all(
    first.map(async (worker) => {
      const [message] = (await once(worker, "message")) as [WorkerReport];
      return message;
    }),
  );
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

  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`hexclave: ${signal}: shutting down ${started.size} workers\n`);
    const live = [...started.keys()];
    for (const worker of live) worker.process.kill("SIGTERM");
    void Promise.all(live.map((w) => (w.isDead() ? undefined : once(w, "exit")))).then(async () => {
      await group.release();
      log.info("stopped");
      process.exit(0);
    });
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
