import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import {
  type RunningServer,
  type StartServerOptions,
  startServer,
} from "../../src/server/index.js";

/** A real server on port 0 over a fresh data directory, with a known admin token. */
export interface TestServer {
  readonly server: RunningServer;
  readonly address: string;
  readonly dataDir: string;
  readonly adminToken: string;
  /** Stops the server (gracefully) and deletes its data directory. */
  close(): Promise<void>;
}

/**
 * Starts a server in this process for a test.
 *
 * @example
 * const t = await startTestServer();
 * afterAll(() => t.close());
 */
export async function startTestServer(
  options: Partial<StartServerOptions> & { dataDir?: string } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "hexclave-test-")));
  const adminToken = `test-admin-${randomBytes(24).toString("base64url")}`;
  const server = await startServer({
    listen: "127.0.0.1:0",
    logger: pino({ level: "silent" }),
    ...options,
    dataDir,
    env: { HEXCLAVE_ADMIN_TOKEN: adminToken, ...options.env },
  });
  return {
    server,
    address: server.address,
    dataDir,
    adminToken,
    async close() {
      await server.close();
      if (options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
