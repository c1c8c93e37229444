import { randomBytes } from "node:crypto";
import { lstat, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { credentials, type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import {
  type HealthCheckResponse,
  HealthClient,
  HealthCheckResponse_ServingStatus as Serving,
} from "../../gen/grpc/health/v1/health.js";
import type { Entry } from "../../gen/hexclave/v1/types.js";
import { bearer, call, rawClients } from "../support/grpc-clients.js";
import {
  type ControlledServer,
  logsWith,
  runToExit,
  serverFleet,
  stop,
  tempDataDir,
} from "../support/server-control.js";
import {
  createStore,
  getValue,
  keyRef,
  newFingerprint,
  setValue,
} from "../support/vault-fixtures.js";

/**
 * A container runtime stops the sidecar with SIGTERM: it must tell health
 * watchers first, let calls in flight finish, and exit 0. On a Unix socket it
 * must serve, refuse to steal a live server's socket, and clean up only a
 * stale one.
 */

const fleet = serverFleet();
afterAll(() => fleet.cleanup());
const start = (env: Record<string, string>): Promise<ControlledServer> => fleet.start(env);

function adminEnv(dataDir: string): { HEXCLAVE_DATA_DIR: string; HEXCLAVE_ADMIN_TOKEN: string } {
  return {
    HEXCLAVE_DATA_DIR: dataDir,
    HEXCLAVE_ADMIN_TOKEN: `shutdown-admin-${randomBytes(24).toString("base64url")}`,
  };
}

describe("SIGTERM", () => {
  it("reports NOT_SERVING to Watch, lets an in-flight stream finish, then exits 0", async () => {
    const dataDir = await tempDataDir("hexclave-sigterm-");
    fleet.track(dataDir);
    const env = adminEnv(dataDir);
    const p = await start(env);
    const c = rawClients(p.address);
    const md = bearer(env.HEXCLAVE_ADMIN_TOKEN);
    const fp = newFingerprint();
    await createStore(c, env.HEXCLAVE_ADMIN_TOKEN, "inflight");
    // Far more than fits in the client's buffers and HTTP/2 windows, so the server must wait for us.
    const ENTRIES = 40;
    for (let i = 0; i < ENTRIES; i++) {
      await setValue(c, env.HEXCLAVE_ADMIN_TOKEN, "inflight", keyRef(fp), randomBytes(60_000));
    }

    const health = new HealthClient(p.address, credentials.createInsecure());
    const statuses: Serving[] = [];
    const watch = health.watch({ service: "" });
    const watchEnded = new Promise<string>((resolve) => {
      watch.on("end", () => resolve("ended by the server"));
      watch.on("error", (e: ServiceError) => resolve(`failed with status ${e.code}`));
    });
    const notServing = new Promise<void>((resolve) =>
      watch.on("data", (res: HealthCheckResponse) => {
        statuses.push(res.status);
        if (res.status === Serving.NOT_SERVING) resolve();
      }),
    );
    await new Promise<void>((resolve) => watch.once("data", () => resolve()));
    expect(statuses).toEqual([Serving.SERVING]);

    // Start a stream and stop reading it after the first page: it stays in flight.
    const stream = c.vault.listEntries(
      {
        storeId: "inflight",
        secretFingerprints: [],
        startAfterKeyId: Buffer.alloc(0),
        pageSize: 1n,
      },
      md,
    );
    const entries: Entry[] = [];
    let streamStatus: number | undefined;
    const streamDone = new Promise<void>((resolve, reject) => {
      stream.on("status", (s: { code: number }) => {
        streamStatus = s.code;
      });
      stream.on("end", resolve);
      stream.on("error", (e: ServiceError) => reject(e));
    });
    await new Promise<void>((resolve) =>
      stream.once("data", (page: { entries: Entry[] }) => {
        entries.push(...page.entries);
        stream.pause();
        resolve();
      }),
    );
    stream.on("data", (page: { entries: Entry[] }) => entries.push(...page.entries));

    p.child.kill("SIGTERM");
    await notServing;
    expect(statuses).toEqual([Serving.SERVING, Serving.NOT_SERVING]);
    const shuttingDown = logsWith(p, "shutting down");
    expect(shuttingDown).toHaveLength(1);
    expect(
      shuttingDown[0]?.inFlight,
      "the paused stream was in flight at SIGTERM",
    ).toBeGreaterThanOrEqual(1);
    // The watcher has been told; its stream then ends so it does not hold up the shutdown.
    expect(await watchEnded).toBe("ended by the server");

    // New calls are refused while the in-flight one drains.
    const late = rawClients(p.address);
    const refused = await call(
      late.vault,
      late.vault.describeStore,
      { storeId: "inflight" },
      md,
    ).then(
      () => undefined,
      (e: ServiceError) => e,
    );
    expect(refused?.code).toBe(status.UNAVAILABLE);
    late.close();

    stream.resume();
    await streamDone;
    expect(streamStatus).toBe(status.OK);
    expect(entries).toHaveLength(ENTRIES);

    const exit = await p.exited;
    await p.closed;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(logsWith(p, "stopped")).toHaveLength(1);
    health.close();
    c.close();
  });

  it("SIGINT also stops cleanly, and the data is there on the next start", async () => {
    const dataDir = await tempDataDir("hexclave-sigint-");
    fleet.track(dataDir);
    const env = adminEnv(dataDir);
    const p = await start(env);
    const c = rawClients(p.address);
    const key = keyRef(newFingerprint());
    await createStore(c, env.HEXCLAVE_ADMIN_TOKEN, "kept");
    await setValue(c, env.HEXCLAVE_ADMIN_TOKEN, "kept", key, Buffer.from("kept value"));
    c.close();
    expect(await stop(p, "SIGINT")).toEqual({ code: 0, signal: null });
    // A clean stop folds the WAL back into the database file.
    expect(await readdir(dataDir)).not.toContain("hexclave.db-wal");

    const again = await start(env);
    const c2 = rawClients(again.address);
    const entry = await getValue(c2, env.HEXCLAVE_ADMIN_TOKEN, "kept", key);
    expect(Buffer.from(entry?.sealedValue ?? []).toString()).toBe("kept value");
    c2.close();
    expect(await stop(again, "SIGTERM")).toEqual({ code: 0, signal: null });
  });
});

describe("a Unix socket", () => {
  it("serves calls, leaves a live server's socket and other files alone, and cleans up a stale socket", async () => {
    const socketDir = await mkdtemp("/tmp/hxsock-");
    fleet.track(socketDir);
    const socket = join(socketDir, "hexclave.sock");
    const bystander = join(socketDir, "not-a-socket");
    await writeFile(bystander, "keep me");
    const dataDir = await tempDataDir("hexclave-unix-");
    fleet.track(dataDir);
    const env = { ...adminEnv(dataDir), HEXCLAVE_LISTEN: `unix:${socket}` };
    const token = env.HEXCLAVE_ADMIN_TOKEN;

    const first = await start(env);
    expect(first.address).toBe(`unix:${socket}`);
    expect((await lstat(socket)).isSocket()).toBe(true);
    const c = rawClients(first.address);
    const key = keyRef(newFingerprint());
    await createStore(c, token, "over-unix");
    expect(await setValue(c, token, "over-unix", key, Buffer.from("via socket"))).toBe(1);

    // A second server on the same path must fail loudly, not take over the live socket.
    const otherDir = await tempDataDir("hexclave-unix2-");
    fleet.track(otherDir);
    const second = await runToExit({ ...adminEnv(otherDir), HEXCLAVE_LISTEN: `unix:${socket}` });
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain("cannot listen");
    expect((await lstat(socket)).isSocket()).toBe(true);
    expect((await getValue(c, token, "over-unix", key))?.version).toBe(1n);

    // A path holding an ordinary file is not a stale socket: refuse, and keep the file.
    const onFile = await runToExit({ ...adminEnv(otherDir), HEXCLAVE_LISTEN: `unix:${bystander}` });
    expect(onFile.code).not.toBe(0);
    expect(await readFile(bystander, "utf8")).toBe("keep me");
    c.close();

    // A server that dies leaves its socket file behind; the next start removes it and serves.
    await stop(first, "SIGKILL");
    expect((await lstat(socket)).isSocket()).toBe(true);
    const restarted = await start(env);
    const c2 = rawClients(restarted.address);
    expect(
      Buffer.from((await getValue(c2, token, "over-unix", key))?.sealedValue ?? []).toString(),
    ).toBe("via socket");
    c2.close();
    expect(await stop(restarted, "SIGTERM")).toEqual({ code: 0, signal: null });
    expect(await readFile(bystander, "utf8")).toBe("keep me");
    expect(await readdir(dataDir)).toEqual(expect.arrayContaining(["hexclave.db", "master.key"]));
  });
});
