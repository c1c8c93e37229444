import { randomBytes } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, expect, it } from "vitest";
import { freePort } from "../../bench/free-port.js";
import { rawClients } from "../support/grpc-clients.js";
import { checkHealth, Serving, watchHealth } from "../support/health-watch.js";
import { type PostgresCluster, startPostgresCluster } from "../support/postgres-cluster.js";
import { serverFleet, stop, tempDataDir } from "../support/server-control.js";
import { startServerProcess } from "../support/server-process.js";
import { createStore, newFingerprint, setValue } from "../support/vault-fixtures.js";
import { describeWithPostgres } from "../support/with-postgres.js";
import { expectEveryAckPresent, startWriteLoad } from "../support/write-load.js";

/**
 * Threat: a database restart turns into an outage of Hexclave, or into lost
 * or garbled answers. While PostgreSQL is down every call fails UNAVAILABLE
 * (retryable; never INTERNAL) and health says NOT_SERVING, so load balancers
 * and clients back off; once it is back the same server process serves
 * again, by itself, and every write it acknowledged is there. A server
 * started while the database is down waits for it, listening and NOT_SERVING.
 */

const token = `outage-admin-${randomBytes(24).toString("base64url")}`;

describeWithPostgres(
  "a PostgreSQL outage heals itself",
  () => {
    let cluster: PostgresCluster;
    const fleet = serverFleet();

    beforeAll(async () => {
      cluster = await startPostgresCluster();
    });

    afterAll(async () => {
      await fleet.cleanup();
      await cluster?.close();
    });

    async function env(): Promise<Record<string, string>> {
      return {
        HEXCLAVE_DATA_DIR: fleet.track(await tempDataDir("hexclave-outage-")),
        HEXCLAVE_DATABASE_URL: await cluster.createDatabase(),
        HEXCLAVE_ADMIN_TOKEN: token,
      };
    }

    it("under load: UNAVAILABLE and NOT_SERVING while it is down, serving again once it is back, no acknowledged write lost", async () => {
      const p = await fleet.start(await env());
      const health = watchHealth(p.address);
      const c = rawClients(p.address);
      try {
        await health.until(Serving.SERVING);
        await createStore(c, token, "outage");
        const load = startWriteLoad([c], {
          storeId: "outage",
          token,
          fingerprint: newFingerprint(),
        });
        await load.until(() => load.succeeded.count >= 100);

        const stoppedAt = Date.now();
        await cluster.stop();
        const downAt = Date.now();
        const notServingAt = await health.until(Serving.NOT_SERVING);
        await load.until(() => load.failures.filter((f) => f.at > downAt).length >= 30);
        const upAt = Date.now();
        await cluster.start();
        const acceptingAt = Date.now();
        const servingAt = await health.until(Serving.SERVING);
        const before = load.succeeded.count;
        await load.until(() => load.succeeded.count >= before + 100);
        await load.stop();
        const firstSuccess = load.successTimes.find((at) => at > upAt) as number;

        // Every failure, in flight at the stop or sent during the outage, is retryable.
        const codes = load.failures.map((f) => `${status[f.code]} ${f.reason ?? "(no reason)"}`);
        expect(load.failures.length).toBeGreaterThanOrEqual(30);
        // A write fails on the database itself; a read fails on its audit record, which cannot
        // be written either (nothing is served without its record).
        for (const code of new Set(codes)) {
          expect(["UNAVAILABLE STORAGE_UNAVAILABLE", "UNAVAILABLE AUDIT_UNAVAILABLE"]).toContain(
            code,
          );
        }
        expect(codes).toContain("UNAVAILABLE STORAGE_UNAVAILABLE");
        expect(load.failures.every((f) => f.at >= stoppedAt && f.at <= servingAt + 1_000)).toBe(
          true,
        );
        const checked = await expectEveryAckPresent(c, token, "outage", load.ledger);
        expect(checked).toBeGreaterThan(10);
        // The same process served throughout: nothing restarted it.
        expect(p.child.exitCode).toBeNull();
        console.log(
          `outage: NOT_SERVING ${notServingAt - stoppedAt} ms after "pg_ctl stop" began (it took ${downAt - stoppedAt} ms); ` +
            `health SERVING ${servingAt - upAt} ms and the first call served ${firstSuccess - upAt} ms after "pg_ctl start" began ` +
            `(PostgreSQL answered the test after ${acceptingAt - upAt} ms); ` +
            `${load.failures.length} calls failed UNAVAILABLE; ${checked} keys checked`,
        );
        // Healing rides on the heartbeat (every second): within a few seconds of PostgreSQL.
        expect(servingAt - acceptingAt).toBeLessThan(3_000);
        expect(firstSuccess - acceptingAt).toBeLessThan(3_000);
      } finally {
        health.close();
        c.close();
      }
      await stop(p, "SIGTERM");
    });

    it("started while PostgreSQL is down: waits with backoff, listening and NOT_SERVING, then serves once it is up", async () => {
      const serverEnv = await env();
      await cluster.stop();
      const port = await freePort();
      const starting = startServerProcess({
        ...serverEnv,
        HEXCLAVE_LISTEN: `127.0.0.1:${port}`,
      });
      try {
        await starting.logged("waiting for the database");
        // The listener is up and says why it does not serve.
        expect(await checkHealth(`127.0.0.1:${port}`)).toBe(Serving.NOT_SERVING);
        const c = rawClients(`127.0.0.1:${port}`);
        const refused = await setValue(
          c,
          token,
          "never",
          { keyId: randomBytes(32), secretFingerprint: newFingerprint() },
          Buffer.from("x"),
        ).catch((e: unknown) => e);
        expect((refused as { code?: number }).code).toBe(status.UNAVAILABLE);
        c.close();
        // Backoff: each attempt waits longer than the one before.
        await starting.logged("waiting for the database", 3);
        const delays = starting.logs
          .filter((line) => line.msg === "waiting for the database")
          .map((line) => Number(line.retryInMs));
        expect(delays.slice(0, 3)).toEqual([200, 400, 800]);

        const upAt = Date.now();
        await cluster.start();
        const p = await starting.serving;
        const health = watchHealth(p.address);
        const servingAt = await health.until(Serving.SERVING);
        health.close();
        console.log(`start-up: serving ${servingAt - upAt} ms after PostgreSQL was started`);
        const c2 = rawClients(p.address);
        await createStore(c2, token, "after-wait");
        const fp = newFingerprint();
        expect(
          await setValue(
            c2,
            token,
            "after-wait",
            { keyId: randomBytes(32), secretFingerprint: fp },
            Buffer.from("v"),
          ),
        ).toBe(1);
        c2.close();
      } finally {
        if (starting.child.exitCode === null) {
          const closed = new Promise((resolve) => starting.child.once("close", resolve));
          starting.child.kill("SIGKILL");
          await closed;
        }
      }
    });
  },
  { ownCluster: true },
);
