import { randomBytes } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, expect, it } from "vitest";
import { forEachBackend } from "../support/backends.js";
import { type ControlledServer, serverFleet } from "../support/server-control.js";
import { createStore, newFingerprint } from "../support/vault-fixtures.js";
import {
  connectToEveryWorker,
  isAlive,
  logLine,
  ownConnection,
  type WorkerConnection,
  workerOf,
  workerPid,
} from "../support/worker-connections.js";
import { expectEveryAckPresent, startWriteLoad } from "../support/write-load.js";

/**
 * Threat: one crashed worker takes the group down, loses writes it
 * acknowledged, or leaves the group a worker short for good. A worker
 * SIGKILLed under write load loses no acknowledged write (each was
 * committed before it was acknowledged); only calls in flight on its own
 * connections fail, UNAVAILABLE; the other workers serve on without a
 * refusal; the leader logs the death and starts a new worker in its place,
 * which then serves what the others wrote.
 */

const token = `kill-admin-${randomBytes(24).toString("base64url")}`;

forEachBackend((backend) => {
  const WORKERS = backend.name === "sqlite" ? 3 : 2;
  const VICTIM = 2;
  const fleet = serverFleet();
  let group: ControlledServer;
  let connections: WorkerConnection[];

  beforeAll(async () => {
    const storage = await backend.fresh();
    group = await fleet.start(
      {
        ...storage.env,
        HEXCLAVE_MASTER_KEY: randomBytes(32).toString("base64"),
        HEXCLAVE_ADMIN_TOKEN: token,
      },
      ["--workers", String(WORKERS)],
    );
    connections = await connectToEveryWorker(group, WORKERS, 2);
  });

  afterAll(async () => {
    for (const c of connections ?? []) c.close();
    await fleet.cleanup();
  });

  it("a worker SIGKILLed under write load loses no acknowledged write, is restarted and logged; the others keep serving", async () => {
    const storeId = await createStore(connections[0] as WorkerConnection, token, "kill-one");
    const load = startWriteLoad(connections, {
      storeId,
      token,
      fingerprint: newFingerprint(),
      concurrency: 9,
    });
    await load.until(() => load.succeeded.count >= 300);

    const victimPid = workerPid(group, VICTIM);
    const onVictim = connections.flatMap((c, i) => (c.worker === VICTIM ? [i] : []));
    const survivorsDone = () =>
      connections.reduce(
        (sum, c, i) => sum + (c.worker === VICTIM ? 0 : (load.succeededOn[i] ?? 0)),
        0,
      );
    for (const i of onVictim) load.skipped.add(i);
    const killedAt = Date.now();
    process.kill(victimPid, "SIGKILL");

    const died = await logLine(group, (l) => l.msg === "a worker died: restarting it");
    expect(died).toMatchObject({ worker: VICTIM, pid: victimPid, signal: "SIGKILL" });
    expect(died.level).toBe(50); // error: an operator should see it
    const before = survivorsDone();
    await load.until(() => survivorsDone() >= before + 300);
    const restarted = await logLine(
      group,
      (l) => l.msg === "worker started" && l.worker === VICTIM && l.pid !== victimPid,
    );
    const back = await logLine(
      group,
      (l) => l.msg === "worker serving" && l.worker === VICTIM && Number(l.time) >= killedAt,
    );
    console.log(
      `${backend.name}: worker ${VICTIM} killed; the leader logged its death ${Number(died.time) - killedAt} ms later, ` +
        `started its replacement after ${Number(restarted.time) - Number(died.time)} ms, which served ` +
        `${Number(back.time) - Number(restarted.time)} ms after that`,
    );
    await load.stop();

    expect(isAlive(victimPid)).toBe(false);
    expect(isAlive(Number(restarted.pid))).toBe(true);
    expect(isAlive(group.child.pid as number)).toBe(true);
    // Only calls in flight on the killed worker's connections failed; the others refused nothing.
    const elsewhere = load.failures.filter((f) => !onVictim.includes(f.target));
    expect(elsewhere).toEqual([]);
    expect(load.failures.every((f) => f.at >= killedAt && f.code === status.UNAVAILABLE)).toBe(
      true,
    );
    const survivor = connections.find((c) => c.worker !== VICTIM) as WorkerConnection;
    await expectEveryAckPresent(survivor, token, storeId, load.ledger);

    // The new worker takes connections and serves what the others acknowledged meanwhile.
    const fresh: ReturnType<typeof ownConnection>[] = [];
    try {
      let reached = false;
      for (let tries = 0; !reached && tries < WORKERS * 6; tries++) {
        const c = ownConnection(group.address);
        fresh.push(c);
        if ((await workerOf(group, c)) !== VICTIM) continue;
        reached = true;
        await expectEveryAckPresent(c, token, storeId, load.ledger);
      }
      expect(reached, "no new connection reached the restarted worker").toBe(true);
    } finally {
      for (const c of fresh) c.close();
    }
  });
});
