import { randomBytes } from "node:crypto";
import { type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus as Serving,
} from "../../gen/grpc/health/v1/health.js";
import { bearer, call, reasonOf } from "../support/grpc-clients.js";
import { type PostgresCluster, startPostgresCluster } from "../support/postgres-cluster.js";
import { type ControlledServer, serverFleet, tempDataDir } from "../support/server-control.js";
import { createStore } from "../support/vault-fixtures.js";
import { describeWithPostgres } from "../support/with-postgres.js";
import { connectToEveryWorker, type WorkerConnection } from "../support/worker-connections.js";

/**
 * What health means for `hexclave serve --workers N`: a probe reaches one
 * worker, whichever the listener hands its connection to, so every worker
 * must answer for the group. The workers share one thing that can fail —
 * the database — and each follows it on its own heartbeat, so when it goes
 * away every worker reports NOT_SERVING (and fails calls UNAVAILABLE), and
 * when it returns every worker reports SERVING again, by itself: a probe
 * gets the same answer wherever it lands. (A worker that dies takes no
 * connections until it is replaced, and SIGTERM turns every worker
 * NOT_SERVING at once: killed-worker-is-restarted and
 * sigterm-drains-every-worker test those.)
 */

const WORKERS = 2;
const token = `health-admin-${randomBytes(24).toString("base64url")}`;

/** A Watch on one connection, recording each status with the time it arrived. */
function watch(c: WorkerConnection) {
  const seen: { status: Serving; at: number }[] = [];
  const waiters = new Set<() => void>();
  const stream = c.health.watch({ service: "" });
  stream.on("data", (res: HealthCheckResponse) => {
    seen.push({ status: res.status, at: Date.now() });
    for (const wake of [...waiters]) wake();
  });
  stream.on("error", () => {});
  return {
    seen,
    until(state: Serving): Promise<number> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`never ${Serving[state]}: ${JSON.stringify(seen)}`)),
          20_000,
        );
        const wake = (): void => {
          const last = seen.at(-1);
          if (last?.status !== state) return;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(last.at);
        };
        waiters.add(wake);
        wake();
      });
    },
    close: () => stream.cancel(),
  };
}

describeWithPostgres(
  "health of a --workers group on PostgreSQL",
  () => {
    let cluster: PostgresCluster;
    const fleet = serverFleet();
    let group: ControlledServer;
    let connections: WorkerConnection[];

    beforeAll(async () => {
      cluster = await startPostgresCluster();
      group = await fleet.start(
        {
          HEXCLAVE_DATA_DIR: fleet.track(await tempDataDir("hexclave-group-health-")),
          HEXCLAVE_DATABASE_URL: await cluster.createDatabase(),
          HEXCLAVE_MASTER_KEY: randomBytes(32).toString("base64"),
          HEXCLAVE_ADMIN_TOKEN: token,
        },
        ["--workers", String(WORKERS)],
      );
      connections = await connectToEveryWorker(group, WORKERS);
    });

    afterAll(async () => {
      for (const c of connections ?? []) c.close();
      await fleet.cleanup();
      await cluster?.close();
    });

    it("the database going away turns every worker NOT_SERVING; its return turns every one SERVING, by itself", async () => {
      await createStore(connections[0] as WorkerConnection, token, "health");
      const describe = (c: WorkerConnection) =>
        call(c.vault, c.vault.describeStore, { storeId: "health" }, bearer(token), 5_000);
      const watches = connections.map(watch);
      for (const w of watches) await w.until(Serving.SERVING);

      const stoppedAt = Date.now();
      await cluster.stop();
      const down = await Promise.all(watches.map((w) => w.until(Serving.NOT_SERVING)));
      for (const c of connections) {
        const error = await describe(c).then(
          () => undefined,
          (e: unknown) => e as ServiceError,
        );
        expect(
          { code: error?.code, reason: error && reasonOf(error) },
          `worker ${c.worker}`,
        ).toEqual({
          code: status.UNAVAILABLE,
          reason: "STORAGE_UNAVAILABLE",
        });
      }

      const startedAt = Date.now();
      await cluster.start();
      const up = await Promise.all(watches.map((w) => w.until(Serving.SERVING)));
      for (const c of connections) expect((await describe(c)).store?.id).toBe("health");
      for (const w of watches) w.close();

      console.log(
        `--workers ${WORKERS} on PostgreSQL: NOT_SERVING ${down.map((t) => t - stoppedAt).join(", ")} ms after the stop began; ` +
          `SERVING ${up.map((t) => t - startedAt).join(", ")} ms after the start began`,
      );
      // No worker was restarted for it: the outage healed in place.
      expect(group.logs.filter((l) => l.msg === "a worker died: restarting it")).toEqual([]);
    });
  },
  { ownCluster: true },
);
