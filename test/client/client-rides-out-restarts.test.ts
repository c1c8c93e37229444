import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSecret, HexclaveClient } from "../../src/client/index.js";
import { bearer, call, rawClients } from "../support/grpc-clients.js";
import {
  type ControlledServer,
  serverFleet,
  stop,
  tempDataDir,
} from "../support/server-control.js";
import { readValue, seedReads, startSdkLoad } from "./support/sdk-load.js";

/**
 * `hexclave serve` restarted (SIGTERM, then started again on the same address
 * and data directory) three times under a steady stream of SDK calls: reads,
 * ifVersion writes and plain writes. With its default retries and
 * wait-for-ready the client rides it out: no call fails, and no write is
 * applied twice — counted through versions, as every write in a store takes
 * exactly the next one. A client without either fails meanwhile, which shows
 * the restarts really cut calls off.
 */

const RESTARTS = 3;
const READ_KEYS = 10;
const token = `restart-admin-${randomBytes(24).toString("base64url")}`;
const secret = generateSecret();

describe("a client under a server restarted three times", () => {
  const fleet = serverFleet();
  let dataDir: string;
  let server: ControlledServer;
  let address: string;

  beforeAll(async () => {
    dataDir = fleet.track(await tempDataDir("hexclave-restarts-"));
    server = await fleet.start({ HEXCLAVE_DATA_DIR: dataDir, HEXCLAVE_ADMIN_TOKEN: token });
    address = server.address;
    const raw = rawClients(address);
    await call(
      raw.admin,
      raw.admin.createStore,
      { storeId: "restarts", description: "" },
      bearer(token),
    );
    raw.close();
  });
  afterAll(() => fleet.cleanup());

  it("loses no call and applies no write twice", async () => {
    // A restart takes 5 s and more on a loaded 2-core machine (process start, then the
    // database): each call may wait that long, within its deadline.
    const client = new HexclaveClient({ address, token, timeoutMs: 30_000 });
    const unprotected = new HexclaveClient({ address, token, retry: false, waitForReady: false });
    try {
      const store = await client.getDataVaultStore("restarts");
      const seeded = await seedReads(store, secret, READ_KEYS);
      const load = startSdkLoad(store, secret, { workers: 3, readKeys: READ_KEYS });

      // The control: reads without retries or waiting, paced, counting what fails.
      const bare = await unprotected.getDataVaultStore("restarts");
      let controlStopped = false;
      let controlFailures = 0;
      const control = (async () => {
        while (!controlStopped) {
          await bare.getValue("r0", { secret }).catch(() => {
            controlFailures += 1;
          });
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();

      for (let i = 0; i < RESTARTS; i++) {
        await load.progress(40);
        const exit = await stop(server, "SIGTERM");
        expect(exit.code).toBe(0);
        server = await fleet.start({
          HEXCLAVE_DATA_DIR: dataDir,
          HEXCLAVE_ADMIN_TOKEN: token,
          HEXCLAVE_LISTEN: address,
        });
        expect(server.address).toBe(address);
      }
      await load.progress(40);
      await load.stop();
      controlStopped = true;
      await control;

      expect(load.failures).toEqual([]);
      expect(load.done.read).toBeGreaterThan(0);
      expect(load.done.checked).toBeGreaterThan(0);
      expect(load.done.plain).toBeGreaterThan(0);
      expect(controlFailures).toBeGreaterThan(0);

      // Every acknowledged write got its own version, and no write took another:
      // the versions handed out are exactly 1..N, N the number of acknowledged writes.
      const acked = [...seeded, ...load.versions].sort((a, b) => a - b);
      expect(new Set(acked).size).toBe(acked.length);
      const { version: next } = await store.setValue("probe", "x", { secret });
      expect(next - 1).toBe(acked.length);
      expect(acked).toEqual(Array.from({ length: acked.length }, (_, i) => i + 1));
      expect(await store.getValue("r3", { secret })).toBe(readValue(3));
    } finally {
      client.close();
      unprotected.close();
    }
  });
});
