import { existsSync } from "node:fs";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type PostgresCluster, startPostgresCluster } from "./postgres-cluster.js";
import { withClient } from "./postgres-databases.js";
import { isGone, postmasterPid } from "./postgres-processes.js";
import { describeWithPostgres, freshPostgresDatabase, postgresOrSkip } from "./with-postgres.js";

/** `SHOW name` on the server at `url`. */
function show(url: string, name: string): Promise<string> {
  return withClient(url, async (c) => (await c.query(`SHOW ${name}`)).rows[0][name]);
}

/** The connection error (or undefined) of one attempt to query `url`. */
function connectionError(url: string): Promise<unknown> {
  return withClient(url, (c) => c.query("SELECT 1")).then(
    () => undefined,
    (err: unknown) => err,
  );
}

describeWithPostgres("the shared PostgreSQL server", () => {
  it("gives every caller its own empty database, invisible to the others", async () => {
    const [a, b] = await Promise.all([freshPostgresDatabase(), freshPostgresDatabase()]);
    expect(a).not.toBe(b);
    await withClient(a, (c) =>
      c.query("CREATE TABLE only_in_a (v text); INSERT INTO only_in_a VALUES ('a')"),
    );
    const seenFromB = await withClient(b, async (c) => ({
      table: (await c.query("SELECT to_regclass('only_in_a') AS t")).rows[0].t,
      tables: (
        await c.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'")
      ).rows[0].n,
    }));
    expect(seenFromB).toEqual({ table: null, tables: 0 });
    const inA = await withClient(a, async (c) => (await c.query("SELECT v FROM only_in_a")).rows);
    expect(inA).toEqual([{ v: "a" }]);
  });

  it("keeps production durability on the run's own cluster", async (ctx) => {
    const pg = postgresOrSkip(ctx);
    if (pg.source === "external") ctx.skip("an external server's settings are its operator's");
    expect({
      fsync: await show(pg.url, "fsync"),
      synchronous_commit: await show(pg.url, "synchronous_commit"),
      full_page_writes: await show(pg.url, "full_page_writes"),
    }).toEqual({ fsync: "on", synchronous_commit: "on", full_page_writes: "on" });
    expect(Number(await show(pg.url, "max_connections"))).toBeGreaterThanOrEqual(200);
  });
});

describeWithPostgres(
  "a cluster of its own (for outage and crash tests)",
  () => {
    let cluster: PostgresCluster;
    let db: string;
    beforeAll(async () => {
      cluster = await startPostgresCluster();
      db = await cluster.createDatabase();
      await withClient(db, (c) => c.query("CREATE TABLE t (v int)"));
    });
    afterAll(() => cluster?.close());

    it("listens on 127.0.0.1 with fsync and synchronous_commit on", async () => {
      expect(cluster.host).toBe("127.0.0.1");
      expect(new URL(cluster.url).port).toBe(String(cluster.port));
      expect([await show(db, "fsync"), await show(db, "synchronous_commit")]).toEqual(["on", "on"]);
    });

    it("stop() refuses connections until start() brings the same data back", async () => {
      await withClient(db, (c) => c.query("INSERT INTO t VALUES (1)"));
      await cluster.stop();
      expect(await connectionError(db)).toMatchObject({ code: "ECONNREFUSED" });
      await cluster.start();
      expect(await withClient(db, async (c) => (await c.query("SELECT v FROM t")).rows)).toEqual([
        { v: 1 },
      ]);
    });

    it("kill() takes the server down at once; start() recovers every committed row", async () => {
      const open = new pg.Client({ connectionString: db });
      open.on("error", () => {}); // the server vanishing is the point
      await open.connect();
      try {
        await open.query("INSERT INTO t VALUES (2)");
        await cluster.kill();
        await expect(open.query("SELECT 1")).rejects.toThrow();
      } finally {
        await open.end().catch(() => undefined);
      }
      expect(await connectionError(db)).toMatchObject({ code: "ECONNREFUSED" });
      await cluster.start();
      const rows = await withClient(
        db,
        async (c) => (await c.query("SELECT v FROM t ORDER BY v")).rows,
      );
      expect(rows).toEqual([{ v: 1 }, { v: 2 }]);
    });

    it("close() stops the postmaster and deletes the cluster's directory", async () => {
      const pid = postmasterPid(cluster.dataDir);
      expect(pid).toBeTypeOf("number");
      await cluster.close();
      expect(existsSync(cluster.dataDir)).toBe(false);
      expect(isGone(pid!)).toBe(true);
      expect(await connectionError(cluster.url)).toMatchObject({ code: "ECONNREFUSED" });
    });
  },
  { ownCluster: true },
);
