import { randomBytes } from "node:crypto";
import { type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, expect, it } from "vitest";
import { forEachBackend } from "../support/backends.js";
import { bearer, call, type RawClients, reasonOf } from "../support/grpc-clients.js";
import { type ControlledServer, serverFleet } from "../support/server-control.js";
import {
  createStore,
  createToken,
  getValue,
  keyRef,
  newFingerprint,
  setValue,
} from "../support/vault-fixtures.js";
import { connectToEveryWorker, type WorkerConnection } from "../support/worker-connections.js";

/**
 * `hexclave serve --workers N` is N server processes behind one listener,
 * and must keep the promises separate replicas keep (docs/storage.md,
 * "Coherence across processes"): a read through any worker returns the
 * write another worker acknowledged, or a newer one; check-and-set sent
 * through different workers has exactly one winner per version; a revoked
 * token and a deleted store stop working on every worker within 1 s.
 * Every test crosses workers for real: each connection's worker is known
 * from the worker's own log line for a call on it.
 */

/** The documented bound for another process to notice a revocation or deletion. */
const PROPAGATION_BOUND_MS = 1_000;
const token = `workers-admin-${randomBytes(24).toString("base64url")}`;
const admin = bearer(token);

forEachBackend((backend) => {
  // PostgreSQL: two workers are enough to cross processes; SQLite: three, as the issue asks.
  const WORKERS = backend.name === "sqlite" ? 3 : 2;
  const fleet = serverFleet();
  let group: ControlledServer;
  let connections: WorkerConnection[];

  beforeAll(async () => {
    const storage = await backend.fresh();
    group = await fleet.start(
      {
        ...storage.env,
        HEXCLAVE_MASTER_KEY: randomBytes(32).toString("base64"),
        HEXCLAVE_ADMIN_TOKEN: token,
      },
      ["--workers", String(WORKERS)],
    );
    connections = await connectToEveryWorker(group, WORKERS, 2);
  });

  afterAll(async () => {
    for (const c of connections ?? []) c.close();
    await fleet.cleanup();
  });

  /** One connection on worker `w`. */
  const on = (w: number): WorkerConnection =>
    connections.find((c) => c.worker === w) as WorkerConnection;
  /** Two connections on different workers, at random. */
  function pair(): [WorkerConnection, WorkerConnection] {
    const w = 1 + Math.floor(Math.random() * WORKERS);
    const r = 1 + ((w + Math.floor(Math.random() * (WORKERS - 1))) % WORKERS);
    const pick = (worker: number) => {
      const mine = connections.filter((c) => c.worker === worker);
      return mine[Math.floor(Math.random() * mine.length)] as WorkerConnection;
    };
    return [pick(w), pick(r)];
  }

  it("a read through any worker returns the write another worker acknowledged, or a newer one", async () => {
    const storeId = await createStore(on(1), token, "coherent");
    const fp = newFingerprint();
    const hot = keyRef(fp);
    const crossed = new Set<string>();
    for (let round = 1; round <= 120; round++) {
      const [w, r] = pair();
      expect(w.worker).not.toBe(r.worker);
      crossed.add(`${w.worker}->${r.worker}`);
      for (const key of [hot, keyRef(fp)]) {
        const value = Buffer.from(`round ${round} via worker ${w.worker}`);
        const version = await setValue(w, token, storeId, key, value);
        const read = await getValue(r, token, storeId, key);
        expect(Number(read?.version), `round ${round}: ${w.worker} wrote, ${r.worker} read`).toBe(
          version,
        );
        expect(Buffer.from(read?.sealedValue ?? []).equals(value)).toBe(true);
      }
    }
    // Every ordered pair of workers was exercised (3 workers: 6 pairs; 2: 2) — by chance, but
    // 120 rounds miss one with odds below 1e-8.
    expect(crossed.size).toBe(WORKERS * (WORKERS - 1));

    // A store created through one worker is there at once on another.
    for (let round = 1; round <= 6; round++) {
      const [w, r] = pair();
      const id = await createStore(w, token, `coherent-new-${round}`);
      const key = keyRef(fp);
      const version = await setValue(w, token, id, key, Buffer.from("first"));
      expect(Number((await getValue(r, token, id, key))?.version)).toBe(version);
    }
  });

  it("check-and-set through different workers: exactly one winner per version", async () => {
    const storeId = await createStore(on(1), token, "cas");
    const key = keyRef(newFingerprint());
    let current = await setValue(on(1), token, storeId, key, Buffer.from("v"));
    for (let round = 1; round <= 15; round++) {
      const settled = await Promise.allSettled(
        connections.map((c, i) =>
          call(
            c.vault,
            c.vault.setValue,
            {
              storeId,
              key,
              sealedValue: Buffer.from(`round ${round} connection ${i}`),
              previousKeys: [],
              expectedVersion: BigInt(current),
            },
            admin,
          ),
        ),
      );
      const won = settled.filter((s) => s.status === "fulfilled");
      expect(won, `round ${round}`).toHaveLength(1);
      for (const lost of settled.filter((s) => s.status === "rejected")) {
        const e = lost.reason as ServiceError;
        expect({ code: e.code, reason: reasonOf(e) }).toEqual({
          code: status.ABORTED,
          reason: "VERSION_CONFLICT",
        });
      }
      const next = Number((won[0] as PromiseFulfilledResult<{ version: bigint }>).value.version);
      expect(next).toBeGreaterThan(current);
      current = next;
    }
    for (let w = 1; w <= WORKERS; w++) {
      expect(Number((await getValue(on(w), token, storeId, key))?.version)).toBe(current);
    }
  });

  /**
   * Calls `attempt` through one connection per worker until it fails with
   * `reason` there; returns how long after `since` each worker refused (ms).
   */
  function refusedOnEveryWorker(
    since: number,
    reason: string,
    attempt: (c: RawClients) => Promise<unknown>,
  ): Promise<number[]> {
    return Promise.all(
      Array.from({ length: WORKERS }, async (_, i) => {
        const c = on(i + 1);
        for (;;) {
          const error = await attempt(c).then(
            () => undefined,
            (e: unknown) => e as ServiceError,
          );
          if (error !== undefined) {
            expect(reasonOf(error), `worker ${i + 1}`).toBe(reason);
            return Date.now() - since;
          }
          if (Date.now() > since + 10_000) throw new Error(`worker ${i + 1} never refused`);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }),
    );
  }

  it("a revoked token and a deleted store stop working on every worker within 1 s", async () => {
    const storeId = await createStore(on(1), token, "propagation");
    const key = keyRef(newFingerprint());
    await setValue(on(1), token, storeId, key, Buffer.from("v"));
    const read = (c: RawClients, secret: string) =>
      call(c.vault, c.vault.getValue, { storeId, key, previousKeys: [] }, bearer(secret));

    const reader = await createToken(on(1), token, [{ storeId, read: true, write: false }]);
    // Every worker has learnt of the token (and serves with it) before it is revoked.
    const learnedSince = Date.now();
    for (let w = 1; w <= WORKERS; w++) {
      for (;;) {
        const ok = await read(on(w), reader.secret).then(
          () => true,
          () => false,
        );
        if (ok) break;
        if (Date.now() > learnedSince + 10_000) throw new Error(`worker ${w} never took the token`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    await call(on(1).admin, on(1).admin.revokeToken, { tokenId: reader.id }, admin);
    const revokedAt = Date.now();
    const revocation = await refusedOnEveryWorker(revokedAt, "TOKEN_REVOKED", (c) =>
      read(c, reader.secret),
    );

    // Every worker has the store loaded (it just served it) when it is deleted through worker 1.
    for (let w = 1; w <= WORKERS; w++) expect((await read(on(w), token)).entry).toBeDefined();
    await call(on(1).admin, on(1).admin.deleteStore, { storeId }, admin);
    const deletedAt = Date.now();
    const deletion = await refusedOnEveryWorker(deletedAt, "STORE_NOT_FOUND", (c) =>
      read(c, token),
    );

    console.log(
      `${backend.name}, --workers ${WORKERS}: ms after the acknowledgement until each worker refused: ` +
        `revoked token ${revocation.join(", ")}; deleted store ${deletion.join(", ")}`,
    );
    for (const ms of [...revocation, ...deletion])
      expect(ms).toBeLessThanOrEqual(PROPAGATION_BOUND_MS);
  });
});
