import { randomBytes } from "node:crypto";
import { mkdtemp, rm, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { startServer } from "../../src/server/index.js";
import { runToExit, serverFleet, stop } from "../support/server-control.js";
import { startTestServer } from "../support/test-server.js";

/**
 * Two servers on one data directory would each trust caches the other makes
 * stale (served values, registered secrets, revoked tokens). The second is
 * refused while the first runs; the directory is free again once it stops.
 * (A SIGKILLed server releases it too: the restart tests in
 * acknowledged-writes-survive-sigkill.test.ts reopen the same directory.)
 */
const dirs: string[] = [];
const fleet = serverFleet();
afterAll(async () => {
  await fleet.cleanup();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe("one server per data directory", () => {
  it("refuses a second server on a directory in use, and starts once it is free", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "hexclave-lock-"));
    dirs.push(dataDir);
    const first = await startTestServer({ dataDir });
    const second = startServer({
      listen: "127.0.0.1:0",
      dataDir,
      logger: pino({ level: "silent" }),
      env: { HEXCLAVE_ADMIN_TOKEN: "x".repeat(40) },
    });
    await expect(second).rejects.toThrow(/is in use by another Hexclave server/);

    await first.close();
    const third = await startTestServer({ dataDir });
    await third.close();
  });

  it("still refuses the second server when the lock file was removed under the first", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "hexclave-lock-gone-"));
    dirs.push(dataDir);
    const env = {
      HEXCLAVE_DATA_DIR: dataDir,
      HEXCLAVE_ADMIN_TOKEN: `lock-admin-${randomBytes(24).toString("base64url")}`,
    };
    const first = await fleet.start(env);
    await unlink(join(dataDir, "hexclave.lock"));
    const second = await runToExit(env);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(
      /is in use by another Hexclave server \(pid \d+ on .+\) although its lock file is gone/,
    );
    expect(second.stdout).not.toContain('"msg":"hexclave serving"');
    expect(await stop(first, "SIGTERM")).toEqual({ code: 0, signal: null });
    // Once the first has stopped, the directory is free.
    const third = await fleet.start(env);
    await stop(third, "SIGTERM");
  });

  it("starts at once after the previous server was killed (its heartbeat is fresh, its process gone)", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "hexclave-lock-killed-"));
    dirs.push(dataDir);
    const env = {
      HEXCLAVE_DATA_DIR: dataDir,
      HEXCLAVE_ADMIN_TOKEN: `lock-admin-${randomBytes(24).toString("base64url")}`,
    };
    const first = await fleet.start(env);
    await stop(first, "SIGKILL");
    const again = await fleet.start(env);
    await stop(again, "SIGTERM");
  });
});
