import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { generateSecret, HexclaveClient, HexclaveError } from "../../src/client/index.js";
import { bearer, call, rawClients } from "../support/grpc-clients.js";
import {
  type ControlledServer,
  serverFleet,
  stop,
  tempDataDir,
} from "../support/server-control.js";
import { describeWithPostgres, freshPostgresDatabase } from "../support/with-postgres.js";

/**
 * One client given two servers on one PostgreSQL database spreads its calls
 * over both (round robin: each server's own call log shows its share), and
 * when one is killed its calls keep succeeding on the other.
 */

const token = `balance-admin-${randomBytes(24).toString("base64url")}`;
const secret = generateSecret();

/** Successful GetValue calls in a server's call log (debug level logs every call). */
function getValueCalls(server: ControlledServer): number {
  return server.logs.filter(
    (line) => line.msg === "call" && line.method === "/hexclave.v1.VaultService/GetValue",
  ).length;
}

/**
 * Resolves once the servers' logs hold `count` GetValue calls in all: a log
 * line reaches this process a little after the answer it records.
 */
function logsShow(list: readonly ControlledServer[], count: number): Promise<void> {
  const total = () => list.reduce((sum, s) => sum + getValueCalls(s), 0);
  return new Promise((resolve) => {
    const check = (): void => {
      if (total() < count) return;
      for (const s of list) s.child.stdout?.off("data", check);
      resolve();
    };
    // Registered after the line reader of server-process.ts, so lines are parsed when this runs.
    for (const s of list) s.child.stdout?.on("data", check);
    check();
  });
}

describeWithPostgres("a client given two servers", () => {
  const fleet = serverFleet();
  let servers: ControlledServer[];

  beforeAll(async () => {
    const url = await freshPostgresDatabase();
    const masterKey = randomBytes(32).toString("base64");
    servers = [];
    // One after the other: the first migrates the empty database.
    for (let i = 0; i < 2; i++) {
      servers.push(
        await fleet.start({
          HEXCLAVE_DATA_DIR: fleet.track(await tempDataDir("hexclave-balance-")),
          HEXCLAVE_DATABASE_URL: url,
          HEXCLAVE_MASTER_KEY: masterKey,
          HEXCLAVE_ADMIN_TOKEN: token,
          HEXCLAVE_LOG_LEVEL: "debug",
        }),
      );
    }
    const raw = rawClients(servers[0]?.address as string);
    await call(
      raw.admin,
      raw.admin.createStore,
      { storeId: "balanced", description: "" },
      bearer(token),
    );
    raw.close();
  });
  afterAll(() => fleet.cleanup());

  it("reaches both, round robin, and keeps working on one when the other is killed", async () => {
    const [a, b] = servers as [ControlledServer, ControlledServer];
    const client = new HexclaveClient({ address: [a.address, b.address], token });
    try {
      const store = await client.getDataVaultStore("balanced");
      await store.setValue("k", "v", { secret });
      const before = [getValueCalls(a), getValueCalls(b)];
      for (let i = 0; i < 40; i++) expect(await store.getValue("k", { secret })).toBe("v");
      await logsShow([a, b], (before[0] ?? 0) + (before[1] ?? 0) + 40);
      const share = [getValueCalls(a) - (before[0] ?? 0), getValueCalls(b) - (before[1] ?? 0)];
      expect(share[0] + share[1]).toBe(40);
      // Round robin over two ready servers alternates; allow for the first connection's timing.
      for (const calls of share) expect(calls).toBeGreaterThanOrEqual(15);

      await stop(b, "SIGKILL");
      const survivorBefore = getValueCalls(a);
      let version = (await store.getEntry("k", { secret }))?.version ?? 0;
      for (let i = 0; i < 20; i++) {
        expect(await store.getValue("k", { secret })).toBe("v");
        version = (await store.setValue("k", "v", { secret, ifVersion: version })).version;
      }
      await logsShow([a], survivorBefore + 20);
    } finally {
      client.close();
    }
  });

  it("takes a dns:/// name, and refuses a list with a host name, saying what to give instead", async () => {
    const port = (servers[0] as ControlledServer).address.split(":")[1];
    const client = new HexclaveClient({ address: `dns:///localhost:${port}`, token });
    try {
      expect((await client.getDataVaultStore("balanced")).id).toBe("balanced");
    } finally {
      client.close();
    }
    let refused: unknown;
    try {
      new HexclaveClient({ address: [`localhost:${port}`, "127.0.0.1:1"], token });
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(HexclaveError);
    expect((refused as HexclaveError).code).toBe("INVALID_ARGUMENT");
    expect((refused as HexclaveError).message).toContain("dns:///");
  });
});
