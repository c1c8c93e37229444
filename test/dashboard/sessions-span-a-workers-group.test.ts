import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { csrfOf, formHeaders, rawRequest, signInRaw } from "../support/dashboard-browser.js";
import { type ServerProcess, spawnServer } from "../support/server-process.js";
import { withDataFile } from "../support/sqlite-files.js";

/**
 * Threat: under `--workers` (or replicas on one database) a sign-out reaches
 * one process and the others keep the session — a cookie that "signed out"
 * still works on the next connection. Sessions live in the database: a
 * sign-in works on every worker, a sign-out ends it on all of them. Each
 * request here is its own connection, which node:cluster hands to the
 * workers in turn; the audit chains (one per process) show both served.
 */

describe("dashboard sessions across a --workers group", () => {
  let dir: string;
  let p: ServerProcess;
  let base: string;
  const adminToken = `workers-admin-${randomBytes(24).toString("base64url")}`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "hexclave-dashboard-workers-"));
    p = await spawnServer({ HEXCLAVE_DATA_DIR: dir, HEXCLAVE_ADMIN_TOKEN: adminToken }, [
      "--workers",
      "2",
      "--dashboard",
      "--http-listen",
      "127.0.0.1:0",
    ]);
    const serving = p.logs.find((l) => l.msg === "hexclave serving");
    base = `http://${String(serving?.http)}`;
  });

  afterAll(async () => {
    p?.child.kill("SIGTERM");
    await p?.exited;
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  /** A GET on a connection of its own. */
  const get = (path: string, cookie: string) =>
    rawRequest(`${base}${path}`, { headers: { cookie, connection: "close" } });

  it("a sign-in works on every worker, and a sign-out ends it on every worker", async () => {
    const cookie = await signInRaw(base, adminToken);
    const pages = [];
    for (let i = 0; i < 6; i++) pages.push(await get("/dashboard/activity", cookie));
    expect(pages.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
    // The charts say they add up the group's workers.
    expect(pages[0]?.body).toContain("Every worker of this server");

    const out = await rawRequest(`${base}/dashboard/sign-out`, {
      method: "POST",
      headers: { ...formHeaders(base), cookie, connection: "close" },
      body: new URLSearchParams({ csrf: csrfOf(pages[0]?.body ?? "") }).toString(),
    });
    expect(out.status).toBe(303);
    const after = [];
    for (let i = 0; i < 6; i++) after.push((await get("/dashboard/stores", cookie)).status);
    expect(after).toEqual([303, 303, 303, 303, 303, 303]);

    // Both processes served the signed-in pages (otherwise this proves nothing).
    const chains = await withDataFile(
      dir,
      (db) =>
        db
          .prepare("select distinct chain_id as chain from audit_log where peer like 'dashboard:%'")
          .all() as { chain: string }[],
      { readonly: true },
    );
    expect(chains.length).toBe(2);
  });
});
