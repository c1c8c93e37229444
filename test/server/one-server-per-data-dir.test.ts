import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { startServer } from "../../src/server/index.js";
import { startTestServer } from "../support/test-server.js";

/**
 * Two servers on one data directory would each trust caches the other makes
 * stale (served values, registered secrets, revoked tokens). The second is
 * refused while the first runs; the directory is free again once it stops.
 * (A SIGKILLed server releases it too: the restart tests in
 * acknowledged-writes-survive-sigkill.test.ts reopen the same directory.)
 */
const dirs: string[] = [];
afterAll(async () => {
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
});
