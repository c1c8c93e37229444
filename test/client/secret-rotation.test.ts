import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../gen/hexclave/v1/types.js";
import {
  type DataVaultStore,
  generateSecret,
  type RotationProgress,
} from "../../src/client/index.js";
import { forEachBackend } from "../support/backends.js";
import { bearer, call } from "../support/grpc-clients.js";
import { type ClientFixture, startClientFixture } from "./support/client-fixture.js";

/**
 * Rotation: entries written under secret A stay readable throughout a move to
 * B (reads fall back in one round trip), a rotation killed halfway leaves
 * every entry readable and finishes when run again, and at the end B alone
 * reads everything and A can no longer be used. On SQLite and on PostgreSQL.
 */

const CHILD = fileURLToPath(new URL("./fixtures/rotate-in-child.mjs", import.meta.url));
const N = 300;
const A = generateSecret();
const B = generateSecret();
const keys = Array.from({ length: N }, (_, i) => `user:${i}:refresh-token`);
const expectedValue = (key: string): string => `value of ${key}`;

forEachBackend((backend) => {
  let f: ClientFixture;
  let store: DataVaultStore;
  /** Each entry's write time as sealed under A, before any rotation. */
  const writtenUnderA = new Map<string, number>();

  beforeAll(async () => {
    const { dataDir, databaseUrl } = await backend.fresh();
    f = await startClientFixture({ dataDir, databaseUrl });
    await f.createStore("rotation");
    store = await f.client().getDataVaultStore("rotation");
    await Promise.all(keys.map((k) => store.setValue(k, expectedValue(k), { secret: A })));
    for await (const { key, writtenAt } of store.entries({ secret: A })) {
      writtenUnderA.set(key, writtenAt.getTime());
    }
  });
  afterAll(() => f.close());

  async function describeStore(storeId = "rotation"): Promise<Store> {
    const res = await call(
      f.raw.vault,
      f.raw.vault.describeStore,
      { storeId },
      bearer(f.server.adminToken),
    );
    return res.store as Store;
  }

  async function entriesUnder(secret: string): Promise<number> {
    const fp = await store.secretFingerprint(secret);
    const info = (await describeStore()).secrets.find((s) => s.fingerprint.toString("hex") === fp);
    return Number(info?.entryCount ?? 0n);
  }

  /** Runs rotateSecret in a child process and SIGKILLs it once it has moved `after` entries. */
  async function rotateInChildAndKill(after: number): Promise<number> {
    const child = spawn(process.execPath, [CHILD], {
      env: {
        PATH: process.env.PATH ?? "",
        HEXCLAVE_ADDRESS: f.server.address,
        HEXCLAVE_TOKEN: f.server.adminToken,
        STORE_ID: "rotation",
        FROM_SECRET: A,
        TO_SECRET: B,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once("exit", (_code, signal) => resolve(signal)),
    );
    const lines = createInterface({ input: child.stdout });
    let reached = 0;
    for await (const line of lines) {
      const progress = JSON.parse(line) as RotationProgress & { finished?: unknown };
      expect(progress.finished, "the child finished before it could be killed").toBeUndefined();
      expect(progress.total).toBe(N);
      reached = progress.done;
      if (progress.done >= after) {
        child.kill("SIGKILL");
        break;
      }
    }
    expect(await exited, `child stderr: ${stderr}`).toBe("SIGKILL");
    return reached;
  }

  describe("rotating from secret A to secret B", () => {
    it("reads every entry with { secret: B, previousSecrets: [A] } before B has written anything", async () => {
      const got = await store.getValues(keys, { secret: B, previousSecrets: [A] });
      expect(got.size).toBe(N);
      expect(got.get(keys[7] as string)).toBe(expectedValue(keys[7] as string));
      expect(await store.getValue(keys[0] as string, { secret: B, previousSecrets: [A] })).toBe(
        expectedValue(keys[0] as string),
      );
    });

    it("survives a SIGKILL halfway: every entry stays readable, sealed under exactly one secret", async () => {
      const killedAt = await rotateInChildAndKill(25);
      expect(killedAt).toBeGreaterThanOrEqual(25);
      const [underA, underB] = [await entriesUnder(A), await entriesUnder(B)];
      expect(underA).toBeGreaterThan(0);
      expect(underB).toBeGreaterThanOrEqual(killedAt);
      expect(underA + underB).toBe(N);
      const got = await store.getValues(keys, { secret: B, previousSecrets: [A] });
      expect([...got].every(([k, v]) => v === expectedValue(k))).toBe(true);
      expect(got.size).toBe(N);
    });

    it("finishes when run again, then reads everything with B alone and refuses A", async () => {
      const progress: RotationProgress[] = [];
      const result = await store.rotateSecret({
        from: A,
        to: B,
        onProgress: (p) => progress.push(p),
      });
      const remaining = (progress[0] as RotationProgress).total;
      expect(remaining).toBeGreaterThan(0);
      expect(remaining).toBeLessThan(N);
      expect(result).toMatchObject({ total: remaining, done: remaining, retired: true });
      expect(progress.at(-1)).toEqual({ done: remaining, total: remaining });

      const got = await store.getValues(keys, { secret: B });
      expect(got.size).toBe(N);
      for (const k of keys) expect(got.get(k)).toBe(expectedValue(k));
      // Re-sealing is not writing: every entry keeps the time it was written under A, whether
      // the killed child or this run moved it, so rotation cannot make an old value look new.
      const writtenUnderB = new Map<string, number>();
      for await (const { key, writtenAt } of store.entries({ secret: B })) {
        writtenUnderB.set(key, writtenAt.getTime());
      }
      expect(writtenUnderA.size).toBe(N);
      expect(writtenUnderB).toEqual(writtenUnderA);
      const secrets = (await describeStore()).secrets.map((s) => s.fingerprint.toString("hex"));
      expect(secrets).toEqual([await store.secretFingerprint(B)]);
      await expect(store.getValue(keys[0] as string, { secret: A })).rejects.toMatchObject({
        name: "UnknownSecretError",
        code: "UNKNOWN_SECRET",
      });
    });

    it("does nothing, successfully, when run once more", async () => {
      expect(await store.rotateSecret({ from: A, to: B })).toEqual({
        total: 0,
        done: 0,
        resealed: 0,
        superseded: 0,
        retired: true,
      });
    });
  });

  describe("rotation against concurrent writers", () => {
    it("keeps a newer write under the new secret and never restores a stale value", async () => {
      await f.createStore("rotation-race");
      const raced = await f.client().getDataVaultStore("rotation-race");
      const [C, D] = [generateSecret(), generateSecret()];
      const names = Array.from({ length: 20 }, (_, i) => `k${i}`);
      for (const k of names) await raced.setValue(k, `old ${k}`, { secret: C });

      // A writer on the new secret that does not name the old one: both copies exist.
      await raced.registerSecret({ secret: D, knownSecret: C });
      await raced.setValue("k3", "newer k3", { secret: D });

      // A writer on the old secret changes the entry the rotation will reach last
      // (other than k3, whose copy under D must stay the newest).
      const order: string[] = [];
      for await (const { key } of raced.entries({ secret: C })) order.push(key);
      const last = order.filter((k) => k !== "k3").at(-1) as string;
      let fired: Promise<unknown> | undefined;
      const result = await raced.rotateSecret({
        from: C,
        to: D,
        concurrency: 1,
        onProgress: ({ done }) => {
          if (done === 1) fired = raced.setValue(last, `fresh ${last}`, { secret: C });
        },
      });
      await fired;

      expect(result.superseded).toBeGreaterThanOrEqual(1);
      expect(result.retired).toBe(true);
      const got = await raced.getValues(names, { secret: D });
      expect(got.size).toBe(names.length);
      expect(got.get("k3")).toBe("newer k3");
      expect(got.get(last)).toBe(`fresh ${last}`);
    });

    it("keeps the copy written last when both secrets hold one: a later write under the old secret wins", async () => {
      await f.createStore("rotation-newest");
      const s = await f.client().getDataVaultStore("rotation-newest");
      const [C, D] = [generateSecret(), generateSecret()];
      await s.setValue("k", "oldest, under C", { secret: C });
      await s.registerSecret({ secret: D, knownSecret: C });
      await s.setValue("k", "middle, under D", { secret: D }); // a writer on D that did not name C
      await s.setValue("k", "latest, under C", { secret: C }); // then a writer still on C
      const result = await s.rotateSecret({ from: C, to: D });
      expect(result.retired).toBe(true);
      expect(await s.getValue("k", { secret: D })).toBe("latest, under C");
    });

    it("refuses a mistyped old secret instead of reporting success", async () => {
      await f.createStore("rotation-typo");
      const typo = await f.client().getDataVaultStore("rotation-typo");
      const [C, D] = [generateSecret(), generateSecret()];
      await typo.setValue("k", "v", { secret: C });
      await typo.registerSecret({ secret: D, knownSecret: C });
      await expect(typo.rotateSecret({ from: generateSecret(), to: D })).rejects.toMatchObject({
        code: "UNKNOWN_SECRET",
      });
      expect(await typo.getValue("k", { secret: C })).toBe("v");
    });

    it("moves an entry in the same transaction when written with the new secret and the old as previous", async () => {
      await f.createStore("rotation-write");
      const s = await f.client().getDataVaultStore("rotation-write");
      const [C, D] = [generateSecret(), generateSecret()];
      await s.setValue("k", "v1", { secret: C });
      expect(await s.setValue("k", "v2", { secret: D, previousSecrets: [C] })).toEqual({
        version: 2,
      });
      const described = (await describeStore("rotation-write")).secrets;
      expect(described.map((x) => x.entryCount)).toEqual([0n, 1n]);
      expect(await s.getEntry("k", { secret: D })).toMatchObject({ value: "v2", version: 2 });
    });
  });
});
