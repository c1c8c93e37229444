import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { KeyRef } from "../../gen/hexclave/v1/types.js";
import { forEachBackend } from "../support/backends.js";
import { bearer, call, rawClients } from "../support/grpc-clients.js";
import { type ControlledServer, launch, stop } from "../support/server-control.js";
import { createStore, keyRef, listPages, newFingerprint } from "../support/vault-fixtures.js";

/**
 * Threat: silent loss. Writes share transactions (group commit); a write is
 * acknowledged only after the transaction holding it has committed. So when
 * the process is killed without warning, every write a client saw
 * acknowledged must be on disk after a restart. Rounds kill at the instant the
 * last acknowledgement arrives and in the middle of a burst, with hundreds of
 * concurrent writes in flight. On PostgreSQL it is the Hexclave process that
 * is killed, not the database.
 */

const STORE = "durable";
const WRITES_PER_ROUND = 500;
const WRITES_PER_KEY = 4;
const CONCURRENCY = 64;

forEachBackend((backend) => {
  let env: Record<string, string>;
  let server: ControlledServer | undefined;
  const fp = newFingerprint();

  /** Per key: every value sent, and the acknowledged versions with their values. */
  const sent = new Map<string, { key: KeyRef; values: Set<string>; acks: Map<number, string> }>();

  beforeAll(async () => {
    env = {
      ...(await backend.fresh()).env,
      HEXCLAVE_ADMIN_TOKEN: `sigkill-admin-${randomBytes(24).toString("base64url")}`,
    };
  });

  afterAll(async () => {
    if (server !== undefined) await stop(server, "SIGKILL");
  });

  /**
   * Sends a burst of SetValue calls at a fixed concurrency and SIGKILLs the
   * server from inside the callback of acknowledgement number `killAfterAcks`.
   */
  async function burst(p: ControlledServer, killAfterAcks: number): Promise<number> {
    const c = rawClients(p.address);
    const md = bearer(env.HEXCLAVE_ADMIN_TOKEN);
    const keys = Array.from({ length: WRITES_PER_ROUND / WRITES_PER_KEY }, () => keyRef(fp));
    for (const key of keys) {
      sent.set(key.keyId.toString("hex"), { key, values: new Set(), acks: new Map() });
    }
    // Each key's writes are spread over the burst so several may be in flight at once.
    const jobs = Array.from({ length: WRITES_PER_KEY }, () => keys).flat();
    let acked = 0;
    let killed = false;
    const worker = async (): Promise<void> => {
      for (let job = jobs.shift(); job !== undefined && !killed; job = jobs.shift()) {
        const record = sent.get(job.keyId.toString("hex"));
        const value = randomBytes(48).toString("base64");
        record?.values.add(value);
        const version = await call(
          c.vault,
          c.vault.setValue,
          { storeId: STORE, key: job, sealedValue: Buffer.from(value), previousKeys: [] },
          md,
        ).then(
          (res) => Number(res.version),
          () => undefined, // Unacknowledged: it may or may not have committed.
        );
        if (version === undefined) continue;
        // Two acknowledgements with one version would be a lost update.
        expect(record?.acks.has(version)).toBe(false);
        record?.acks.set(version, value);
        acked += 1;
        if (acked === killAfterAcks) {
          killed = true;
          p.child.kill("SIGKILL");
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    c.close();
    expect(killed).toBe(true);
    return acked;
  }

  /** Checks every acknowledged write against what the restarted server returns. */
  async function expectEveryAckPresent(p: ControlledServer): Promise<void> {
    const c = rawClients(p.address);
    const md = bearer(env.HEXCLAVE_ADMIN_TOKEN);
    try {
      const records = [...sent.values()];
      const found = new Map<string, { version: number; value: string }>();
      for (let i = 0; i < records.length; i += 1000) {
        const res = await call(
          c.vault,
          c.vault.batchGetValues,
          { storeId: STORE, keys: records.slice(i, i + 1000).map((r) => r.key) },
          md,
        );
        for (const e of res.entries) {
          found.set(Buffer.from(e.keyId).toString("hex"), {
            version: Number(e.version),
            value: Buffer.from(e.sealedValue).toString(),
          });
        }
      }
      let checked = 0;
      for (const [hex, record] of sent) {
        if (record.acks.size === 0) continue;
        const latestAck = Math.max(...record.acks.keys());
        const stored = found.get(hex);
        expect(stored, `acknowledged write to ${hex.slice(0, 8)}… is missing`).toBeDefined();
        expect(stored?.version).toBeGreaterThanOrEqual(latestAck);
        if (stored?.version === latestAck) expect(stored.value).toBe(record.acks.get(latestAck));
        // A later version may be a write that committed but whose ack was lost: one we sent.
        else expect(record.values.has(stored?.value ?? "")).toBe(true);
        checked += 1;
      }
      expect(checked).toBeGreaterThan(0);
      // The counters were committed with the writes, so they agree with the contents.
      const entries = (await listPages(c, { storeId: STORE }, md)).flat();
      const store = await call(c.admin, c.admin.getStore, { storeId: STORE }, md);
      expect(store.store?.entryCount).toBe(BigInt(entries.length));
      expect(store.store?.totalValueBytes).toBe(
        BigInt(entries.reduce((sum, e) => sum + e.sealedValue.length, 0)),
      );
    } finally {
      c.close();
    }
  }

  it("every acknowledged write survives SIGKILL, round after round", async () => {
    server = await launch(env);
    const c = rawClients(server.address);
    await createStore(c, env.HEXCLAVE_ADMIN_TOKEN as string, STORE);
    c.close();

    // Kill on the last ack; in the middle of a burst; on the last ack again.
    for (const killAfter of [WRITES_PER_ROUND, WRITES_PER_ROUND / 2, WRITES_PER_ROUND]) {
      const acked = await burst(server, killAfter);
      expect(acked).toBeGreaterThanOrEqual(killAfter);
      const exit = await server.exited;
      expect(exit.signal).toBe("SIGKILL");
      await server.closed;
      server = await launch(env);
      await expectEveryAckPresent(server);
    }
    await stop(server, "SIGTERM");
    server = undefined;
  });
});
