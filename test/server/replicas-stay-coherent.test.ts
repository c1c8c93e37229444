import { randomBytes } from "node:crypto";
import { type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { KeyRef } from "../../gen/hexclave/v1/types.js";
import {
  bearer,
  call,
  expectStatus,
  type RawClients,
  rawClients,
  reasonOf,
} from "../support/grpc-clients.js";
import { type ControlledServer, serverFleet, tempDataDir } from "../support/server-control.js";
import {
  createStore,
  createToken,
  getValue,
  keyRef,
  newFingerprint,
  setValue,
} from "../support/vault-fixtures.js";
import { describeWithPostgres, freshPostgresDatabase } from "../support/with-postgres.js";
import { expectEveryAckPresent, startWriteLoad } from "../support/write-load.js";

/**
 * Three `hexclave serve` processes on one PostgreSQL database, as the docs
 * promise them: no entry cache across processes on shared storage, so a read
 * on any server after a write acknowledged by any other returns that write or
 * a newer one; check-and-set through different servers has one winner per
 * version; a revoked token, a deleted store and a retired secret stop working
 * on every server within 1 s; and a server killed under load loses no
 * acknowledged write while the others keep serving.
 */

const SERVERS = 3;
/** The documented bound for another server to notice a revocation, deletion or retirement. */
const PROPAGATION_BOUND_MS = 1_000;
const token = `replicas-admin-${randomBytes(24).toString("base64url")}`;
const admin = bearer(token);

describeWithPostgres("replicas on one PostgreSQL database", () => {
  const fleet = serverFleet();
  let servers: ControlledServer[];
  let clients: RawClients[];
  const fp = newFingerprint();

  beforeAll(async () => {
    const url = await freshPostgresDatabase();
    const masterKey = randomBytes(32).toString("base64");
    // Started together on an empty database: they migrate it once between them.
    servers = await Promise.all(
      Array.from({ length: SERVERS }, async () =>
        fleet.start({
          HEXCLAVE_DATA_DIR: fleet.track(await tempDataDir("hexclave-replica-")),
          HEXCLAVE_DATABASE_URL: url,
          HEXCLAVE_MASTER_KEY: masterKey,
          HEXCLAVE_ADMIN_TOKEN: token,
        }),
      ),
    );
    clients = servers.map((s) => rawClients(s.address));
  });

  afterAll(async () => {
    for (const c of clients ?? []) c.close();
    await fleet.cleanup();
  });

  /** Two different servers, at random. */
  function pair(): [number, number] {
    const w = Math.floor(Math.random() * SERVERS);
    const r = (w + 1 + Math.floor(Math.random() * (SERVERS - 1))) % SERVERS;
    return [w, r];
  }
  const client = (i: number) => clients[i] as RawClients;

  it("a read on any server returns the write another acknowledged, or a newer one", async () => {
    const storeId = await createStore(client(0), token, "coherent");
    const hot = keyRef(fp);
    for (let round = 1; round <= 150; round++) {
      const [w, r] = pair();
      // One key written over and over, and a new key each round.
      for (const key of [hot, keyRef(fp)]) {
        const value = Buffer.from(`round ${round} via ${w}`);
        const version = await setValue(client(w), token, storeId, key, value);
        const read = await getValue(client(r), token, storeId, key);
        expect(Number(read?.version), `round ${round}: ${w} wrote, ${r} read`).toBe(version);
        expect(Buffer.from(read?.sealedValue ?? []).equals(value)).toBe(true);
      }
    }
    // A store created on one server is there at once on another, as is a secret registered there.
    for (let round = 1; round <= 10; round++) {
      const [w, r] = pair();
      const id = await createStore(client(w), token, `coherent-new-${round}`);
      const key = keyRef(fp);
      const version = await setValue(client(w), token, id, key, Buffer.from("first"));
      expect(Number((await getValue(client(r), token, id, key))?.version)).toBe(version);
      const rotated = newFingerprint();
      await call(
        client(w).vault,
        client(w).vault.registerSecret,
        { storeId: id, secretFingerprint: rotated, knownSecretFingerprint: fp },
        admin,
      );
      const moved = keyRef(rotated);
      const v2 = await call(
        client(w).vault,
        client(w).vault.setValue,
        { storeId: id, key: moved, sealedValue: Buffer.from("second"), previousKeys: [key] },
        admin,
      );
      // The reader knew the store with one secret: it learns of the second, and finds the entry moved.
      const read = await call(
        client(r).vault,
        client(r).vault.getValue,
        { storeId: id, key: moved, previousKeys: [key] },
        admin,
      );
      expect(read.entry?.version).toBe(v2.version);
      expect(await getValue(client(r), token, id, key)).toBeUndefined();
    }
  });

  it("check-and-set through different servers: exactly one winner per version", async () => {
    const storeId = await createStore(client(0), token, "cas");
    const key = keyRef(fp);
    let current = await setValue(client(0), token, storeId, key, Buffer.from("v"));
    for (let round = 1; round <= 15; round++) {
      const attempts = clients.flatMap((c, i) =>
        [0, 1].map((n) =>
          call(
            c.vault,
            c.vault.setValue,
            {
              storeId,
              key,
              sealedValue: Buffer.from(`round ${round} server ${i} try ${n}`),
              previousKeys: [],
              expectedVersion: BigInt(current),
            },
            admin,
          ),
        ),
      );
      const settled = await Promise.allSettled(attempts);
      const won = settled.filter((s) => s.status === "fulfilled");
      expect(won, `round ${round}`).toHaveLength(1);
      const lost = settled.filter((s): s is PromiseRejectedResult => s.status === "rejected");
      for (const l of lost) {
        const e = l.reason as ServiceError;
        expect({ code: e.code, reason: reasonOf(e) }).toEqual({
          code: status.ABORTED,
          reason: "VERSION_CONFLICT",
        });
      }
      const next = Number((won[0] as PromiseFulfilledResult<{ version: bigint }>).value.version);
      expect(next).toBeGreaterThan(current);
      current = next;
    }
    const [w, r] = pair();
    expect(Number((await getValue(client(r), token, storeId, key))?.version)).toBe(current);
    expect(Number((await getValue(client(w), token, storeId, key))?.version)).toBe(current);
  });

  /**
   * Calls `attempt` on every other server until each is refused with `reason`;
   * returns how long after `since` each refusal came back (ms).
   */
  async function refusedEverywhere(
    others: readonly number[],
    since: number,
    reason: string,
    attempt: (c: RawClients) => Promise<unknown>,
  ): Promise<number[]> {
    return Promise.all(
      others.map(async (i) => {
        const deadline = since + 10_000;
        for (;;) {
          const error = await attempt(client(i)).then(
            () => undefined,
            (e: unknown) => e as ServiceError,
          );
          if (error !== undefined) {
            expect(reasonOf(error), `server ${i}`).toBe(reason);
            return Date.now() - since;
          }
          if (Date.now() > deadline) throw new Error(`server ${i} never refused (${reason})`);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }),
    );
  }

  /** Calls `attempt` on every other server until it succeeds; returns how long that took (ms). */
  async function acceptedEverywhere(
    others: readonly number[],
    since: number,
    attempt: (c: RawClients) => Promise<unknown>,
  ): Promise<number[]> {
    return Promise.all(
      others.map(async (i) => {
        for (;;) {
          const error = await attempt(client(i)).then(
            () => undefined,
            (e: unknown) => e as ServiceError,
          );
          if (error === undefined) return Date.now() - since;
          if (Date.now() > since + 10_000) throw error;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }),
    );
  }

  it("a revoked token, a deleted store and a retired secret stop working on every server within 1 s", async () => {
    const others = [1, 2];
    const storeId = await createStore(client(0), token, "propagation");
    const key = keyRef(fp);
    await setValue(client(0), token, storeId, key, Buffer.from("v"));
    const read = (c: RawClients, secret: string, ref: KeyRef = key) =>
      call(c.vault, c.vault.getValue, { storeId, key: ref, previousKeys: [] }, bearer(secret));

    // Revocation.
    const reader = await createToken(client(0), token, [{ storeId, read: true, write: false }]);
    const createdAt = Date.now();
    // Another server learns of a new token from its next refresh of the token table.
    const learned = await acceptedEverywhere(others, createdAt, (c) => read(c, reader.secret));
    await call(client(0).admin, client(0).admin.revokeToken, { tokenId: reader.id }, admin);
    const revokedAt = Date.now();
    await expectStatus(read(client(0), reader.secret), status.UNAUTHENTICATED, "TOKEN_REVOKED");
    const revocation = await refusedEverywhere(others, revokedAt, "TOKEN_REVOKED", (c) =>
      read(c, reader.secret),
    );

    // Retirement: a second secret with no entry under it is retired through server 0.
    const retired = newFingerprint();
    await call(
      client(0).vault,
      client(0).vault.registerSecret,
      { storeId, secretFingerprint: retired, knownSecretFingerprint: fp },
      admin,
    );
    const underRetired = keyRef(retired);
    for (const i of others) expect(await read(client(i), token, underRetired)).toEqual({});
    await call(
      client(0).vault,
      client(0).vault.retireSecret,
      { storeId, secretFingerprint: retired },
      admin,
    );
    const retiredAt = Date.now();
    const retirement = await refusedEverywhere(others, retiredAt, "UNKNOWN_SECRET", (c) =>
      read(c, token, underRetired),
    );

    // Deletion: the other servers have the store loaded (they just served it).
    for (const i of others) expect((await read(client(i), token)).entry).toBeDefined();
    await call(client(0).admin, client(0).admin.deleteStore, { storeId }, admin);
    const deletedAt = Date.now();
    const deletion = await refusedEverywhere(others, deletedAt, "STORE_NOT_FOUND", (c) =>
      read(c, token),
    );

    console.log(
      `propagation to the other servers (ms after the acknowledgement): new token accepted ${learned.join(", ")}; ` +
        `revocation ${revocation.join(", ")}; ` +
        `retired secret ${retirement.join(", ")}; deleted store ${deletion.join(", ")}`,
    );
    for (const ms of [...revocation, ...retirement, ...deletion]) {
      expect(ms).toBeLessThanOrEqual(PROPAGATION_BOUND_MS);
    }
  });

  it("a server SIGKILLed under write load loses no acknowledged write; the others keep serving", async () => {
    const storeId = await createStore(client(0), token, "kill-one");
    const load = startWriteLoad(clients, { storeId, token, fingerprint: fp, concurrency: 9 });
    await load.until(() => load.succeeded.count >= 300);
    const victim = 2;
    load.skipped.add(victim);
    const killedAt = Date.now();
    (servers[victim] as ControlledServer).child.kill("SIGKILL");
    const exit = await (servers[victim] as ControlledServer).exited;
    expect(exit.signal).toBe("SIGKILL");
    const survivors = () => (load.succeededOn[0] ?? 0) + (load.succeededOn[1] ?? 0);
    const before = survivors();
    await load.until(() => survivors() >= before + 300);
    await load.stop();

    // Only calls in flight to the killed server failed; the survivors refused nothing.
    expect(load.failures.filter((f) => f.target !== victim)).toEqual([]);
    expect(load.failures.every((f) => f.at >= killedAt && f.code === status.UNAVAILABLE)).toBe(
      true,
    );
    let checked = 0;
    for (const i of [0, 1])
      checked = await expectEveryAckPresent(client(i), token, storeId, load.ledger);
    const counts = await call(client(0).admin, client(0).admin.getStore, { storeId }, admin);
    expect(Number(counts.store?.entryCount)).toBeGreaterThanOrEqual(checked);
    expect(Number(counts.store?.entryCount)).toBeLessThanOrEqual(load.ledger.size);
  });
});
