import { rm } from "node:fs/promises";
import { afterEach, expect, it } from "vitest";
import { setUpFixture } from "../../bench/attack/attack-fixture.js";
import {
  type AttackServer,
  freshServerConfig,
  type ServerOutput,
  SHUTDOWN_LIMIT_MS,
  startAttackServer,
} from "../../bench/attack/attack-server.js";
import { connectRaw, rawCall } from "../../bench/attack/raw-grpc-call.js";
import type { AttackFixture } from "../../bench/attack/rpc-targets.js";
import { grpcFrame } from "../../bench/grpc-frame.js";
import { ListEntriesRequest, VaultServiceService } from "../../gen/hexclave/v1/vault_service.js";

/**
 * Threat: a server that cannot be stopped, and streams held open forever,
 * by a caller that lets its deadline pass. The fuzzer found both (probes
 * #96146 and #52820 of seed "hexclave-fuzz"); these are their minimal
 * forms, so a fix can be checked in seconds.
 */

let server: AttackServer | undefined;
let dataDir: string | undefined;
const output: ServerOutput = { stdout: [], stderr: [] };

async function start(): Promise<{ server: AttackServer; fx: AttackFixture; token: string }> {
  const config = { ...(await freshServerConfig("hexclave-deadline-")), logLevel: "debug" };
  dataDir = config.dataDir;
  server = await startAttackServer(config, output);
  const fx = await setUpFixture(server.address, config.adminToken, "deadline");
  return { server, fx, token: config.adminToken };
}

afterEach(async () => {
  if (server?.alive()) await server.stop("SIGKILL");
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  server = undefined;
});

const listOnePerPage = (fx: AttackFixture): Buffer =>
  grpcFrame(
    ListEntriesRequest.encode({
      storeId: fx.mainStore,
      secretFingerprints: [],
      startAfterKeyId: Buffer.alloc(0),
      pageSize: 1n,
    }).finish(),
  );

it("a ListEntries whose deadline passed before its half-close does not stop SIGTERM from exiting", async () => {
  const { server, fx, token } = await start();
  const session = connectRaw(server.address);
  const stream = session.request({
    ":method": "POST",
    ":path": VaultServiceService.listEntries.path,
    "content-type": "application/grpc",
    te: "trailers",
    authorization: `Bearer ${token}`,
    "grpc-timeout": "300m",
  });
  stream.on("data", () => {});
  stream.on("error", () => {});
  // The request, but no END_STREAM until the deadline has passed: 48 pages of one entry each.
  stream.write(listOnePerPage(fx));
  const status = await new Promise<unknown>((resolve) => {
    stream.on("trailers", (t) => resolve(t["grpc-status"]));
    stream.on("response", (h) => h["grpc-status"] !== undefined && resolve(h["grpc-status"]));
  });
  expect(status).toBe("4");
  stream.end();
  await new Promise((resolve) => stream.on("close", resolve));
  session.close();
  const from = output.stdout.length;
  const shutdown = await server.terminate(SHUTDOWN_LIMIT_MS);
  expect(shutdown, output.stdout.slice(from - 3).join("\n")).toBe("0");
}, 60_000);

it.each(["00000001n", "0S", "1u"])(
  "a ListEntries with grpc-timeout %s ends with a status, not an open stream",
  async (timeout) => {
    const { server, fx, token } = await start();
    const session = connectRaw(server.address);
    try {
      const outcome = await rawCall(session, {
        path: VaultServiceService.listEntries.path,
        headers: { authorization: `Bearer ${token}`, "grpc-timeout": timeout },
        chunks: [listOnePerPage(fx)],
        // A status comes at once or not at all: the deadline has already passed.
        timeoutMs: 5_000,
      });
      expect({ kind: outcome.kind, bytes: outcome.body.length }).toMatchObject({ kind: "status" });
      expect([0, 4]).toContain(outcome.grpcStatus);
    } finally {
      session.destroy();
    }
  },
  60_000,
);
