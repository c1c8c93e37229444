import { randomBytes } from "node:crypto";
import { lstat, mkdtemp } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import {
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus as Serving,
} from "../../gen/grpc/health/v1/health.js";
import { bearer, call } from "../support/grpc-clients.js";
import { runToExit, serverFleet, tempDataDir } from "../support/server-control.js";
import { startServerProcess } from "../support/server-process.js";
import { createStore, newFingerprint } from "../support/vault-fixtures.js";
import {
  connectToEveryWorker,
  isAlive,
  type WorkerConnection,
  workerPid,
} from "../support/worker-connections.js";
import { expectEveryAckPresent, startWriteLoad } from "../support/write-load.js";

/**
 * A container runtime stops `hexclave serve --workers N` with one SIGTERM to
 * the leader (PID 1): every worker must report NOT_SERVING, finish its calls
 * in flight, commit, and exit; then the leader exits 0, leaving no process
 * behind and every acknowledged write stored. A group that cannot start
 * says so and exits non-zero instead of restarting workers forever.
 */

const WORKERS = 3;
const fleet = serverFleet();
afterAll(() => fleet.cleanup());

function groupEnv(dataDir: string): Record<string, string> {
  return {
    HEXCLAVE_DATA_DIR: fleet.track(dataDir),
    HEXCLAVE_MASTER_KEY: randomBytes(32).toString("base64"),
    HEXCLAVE_ADMIN_TOKEN: `drain-admin-${randomBytes(24).toString("base64url")}`,
  };
}

/** A Watch on one connection: resolves once it saw NOT_SERVING after SERVING, and the stream ended. */
function watchUntilDrained(c: WorkerConnection): {
  ready: Promise<void>;
  drained: Promise<Serving[]>;
} {
  const seen: Serving[] = [];
  const stream = c.health.watch({ service: "" });
  const ready = new Promise<void>((resolve) => stream.once("data", () => resolve()));
  const drained = new Promise<Serving[]>((resolve) => {
    stream.on("data", (res: HealthCheckResponse) => seen.push(res.status));
    stream.on("end", () => resolve(seen));
    stream.on("error", () => resolve(seen));
  });
  return { ready, drained };
}

describe("SIGTERM to the leader of --workers 3", () => {
  it("every worker reports NOT_SERVING and drains; the leader exits 0, no process left, no acknowledged write lost", async () => {
    const env = groupEnv(await tempDataDir("hexclave-drain-"));
    const group = await fleet.start(env, ["--workers", String(WORKERS)]);
    const connections = await connectToEveryWorker(group, WORKERS, 2);
    const pids = Array.from({ length: WORKERS }, (_, i) => workerPid(group, i + 1));
    const token = env.HEXCLAVE_ADMIN_TOKEN as string;
    await createStore(connections[0] as WorkerConnection, token, "drained");
    const watches = Array.from({ length: WORKERS }, (_, i) =>
      watchUntilDrained(connections.find((c) => c.worker === i + 1) as WorkerConnection),
    );
    await Promise.all(watches.map((w) => w.ready));
    const load = startWriteLoad(connections, {
      storeId: "drained",
      token,
      fingerprint: newFingerprint(),
      concurrency: 9,
      backoffMs: 5,
    });
    await load.until(() => load.succeeded.count >= 200);

    const signalledAt = Date.now();
    // Only the leader, as `docker stop` and the kubelet signal PID 1.
    group.child.kill("SIGTERM");
    for (const w of watches) {
      expect(await w.drained).toEqual([Serving.SERVING, Serving.NOT_SERVING]);
    }
    const exit = await group.exited;
    await group.closed;
    await load.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    for (const pid of pids) expect(isAlive(pid), `worker pid ${pid}`).toBe(false);
    expect(group.stderr()).toContain(`SIGTERM: shutting down ${WORKERS} workers`);
    // Each worker said it stopped, then the leader did; no worker was restarted.
    const stopped = group.logs.filter((l) => l.msg === "stopped");
    expect(stopped.map((l) => l.worker ?? "leader").sort()).toEqual([1, 2, 3, "leader"]);
    expect(stopped.at(-1)?.worker).toBeUndefined();
    expect(group.logs.filter((l) => l.msg === "a worker died: restarting it")).toEqual([]);
    // Calls refused once the workers stopped taking them are retryable; none failed otherwise.
    expect(load.failures.every((f) => f.at >= signalledAt && f.code === status.UNAVAILABLE)).toBe(
      true,
    );
    for (const c of connections) c.close();

    // Started again on the same data: every acknowledged write is there.
    const again = await fleet.start(env, ["--workers", "2"]);
    const [c] = await connectToEveryWorker(again, 1);
    await expectEveryAckPresent(c as WorkerConnection, token, "drained", load.ledger);
    c?.close();
  });

  it("on a Unix socket too, and a socket left by a killed group is cleared once for the next", async () => {
    const socketDir = fleet.track(await mkdtemp("/tmp/hxsock-"));
    const socket = join(socketDir, "hexclave.sock");
    const env: Record<string, string> = {
      ...groupEnv(await tempDataDir("hexclave-drain-unix-")),
      HEXCLAVE_LISTEN: `unix:${socket}`,
    };
    const token = env.HEXCLAVE_ADMIN_TOKEN as string;
    const first = await fleet.start(env, ["--workers", String(WORKERS)]);
    expect(first.address).toBe(`unix:${socket}`);
    const connections = await connectToEveryWorker(first, WORKERS);
    await createStore(connections[0] as WorkerConnection, token, "over-unix");
    for (const c of connections) c.close();
    // Killed outright: its workers go with it (their channel to the leader closes), the socket file stays.
    const pids = Array.from({ length: WORKERS }, (_, i) => workerPid(first, i + 1));
    first.child.kill("SIGKILL");
    await first.closed;
    // Orphaned, they are reaped by init, not by the test: wait for that (their registry rows
    // say "alive" while their pids exist).
    for (const pid of pids) {
      for (const since = Date.now(); isAlive(pid); ) {
        if (Date.now() - since > 10_000) throw new Error(`worker ${pid} outlived its leader`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    expect((await lstat(socket)).isSocket()).toBe(true);

    const second = await fleet.start(env, ["--workers", String(WORKERS)]);
    const again = await connectToEveryWorker(second, WORKERS);
    for (const c of again) {
      const res = await call(c.admin, c.admin.getStore, { storeId: "over-unix" }, bearer(token));
      expect(res.store?.id).toBe("over-unix");
      c.close();
    }
    second.child.kill("SIGTERM");
    expect(await second.exited).toEqual({ code: 0, signal: null });
  });
});

describe("a group that cannot start", () => {
  it("a worker that cannot listen stops the group: exit 1, no worker left, no restart loop", async () => {
    const taken = createServer().listen(0, "127.0.0.1");
    await new Promise((resolve) => taken.once("listening", resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const env = {
        ...groupEnv(await tempDataDir("hexclave-nostart-")),
        HEXCLAVE_LISTEN: `127.0.0.1:${port}`,
      };
      const result = await runToExit(env, ["--workers", String(WORKERS)]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`cannot listen on 127.0.0.1:${port}`);
      const lines = result.stdout
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(
        lines.some(
          (l) => l.msg === "a worker failed to start: stopping the group (its error is above)",
        ),
      ).toBe(true);
      expect(lines.filter((l) => l.msg === "a worker died: restarting it")).toEqual([]);
      for (const l of lines.filter((l) => l.msg === "worker started")) {
        expect(isAlive(Number(l.pid)), `worker pid ${l.pid}`).toBe(false);
      }
    } finally {
      taken.close();
    }
  });

  it("SIGTERM while the leader waits for its database: exit 0", async () => {
    // A port nothing listens on: the database is "down".
    const probe = createServer().listen(0, "127.0.0.1");
    await new Promise((resolve) => probe.once("listening", resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    const starting = startServerProcess(
      {
        ...groupEnv(await tempDataDir("hexclave-wait-")),
        HEXCLAVE_DATABASE_URL: `postgres://nobody:nothing@127.0.0.1:${port}/hexclave`,
      },
      ["--workers", "2"],
    );
    await starting.logged("waiting for the database");
    starting.child.kill("SIGTERM");
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
      starting.child.once("exit", (c, s) => resolve([c, s])),
    );
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(starting.logs.filter((l) => l.msg === "worker started")).toEqual([]);
  });
});
