import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openStorage } from "../../src/storage/open-storage.js";
import { serverIdentity } from "../../src/storage/server-registry.js";
import type { AuditRecord } from "../../src/vault/audit-record.js";
import type { Storage, StoreRow } from "../../src/vault/storage-port.js";
import { verifyAudit } from "../../src/vault/verify-audit.js";
import { type CuttingProxy, cuttingProxy } from "../support/cutting-proxy.js";
import { describeWithPostgres, freshPostgresDatabase } from "../support/with-postgres.js";
import { newStoreRow, ref, setValue } from "./support/contract-commands.js";

/**
 * Threat: a write that committed is reported to its caller as refused. When
 * the connection breaks while a COMMIT is on its way, the transaction may
 * have committed or not; nobody can tell from the client side. Group commit
 * must then fail every write of the batch as retryable (UNAVAILABLE: "the
 * outcome is unknown, read and retry"), never run them again one by one: a
 * check-and-set run a second time finds its own write and reports
 * VERSION_CONFLICT, a create finds its own store and reports
 * STORE_ALREADY_EXISTS, and a caller believes a definite "no" that is false.
 */

describeWithPostgres("a commit whose acknowledgement is lost", () => {
  const masterKey = randomBytes(32);
  let proxy: CuttingProxy;
  let storage: Storage;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "hexclave-lost-commit-"));
    proxy = await cuttingProxy(await freshPostgresDatabase());
    storage = await openStorage({
      dataDir,
      databaseUrl: proxy.url,
      masterKeys: [masterKey],
      server: serverIdentity(),
    });
  });

  afterAll(async () => {
    await storage?.close();
    await proxy?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("fails every write of the batch UNAVAILABLE, never VERSION_CONFLICT or ALREADY_EXISTS for what it wrote", async () => {
    const store: StoreRow = newStoreRow(masterKey, "lost-commit");
    await storage.write({ kind: "createStore", row: store });
    const fp = randomBytes(8);
    const keys = [ref(fp), ref(fp), ref(fp)];
    for (const key of keys) await storage.write(setValue(store, key));
    const fresh = newStoreRow(masterKey, "created-while-cut-off");

    const cut = proxy.cutAfter(Buffer.from("commit\0"));
    // One batch (submitted in one turn of the event loop): three check-and-sets against the
    // versions just written.
    const writes = keys.map((key, i) =>
      storage.write({ ...setValue(store, key, { expected: i + 1 }), audit: record(`cas-${i}`) }),
    );
    const outcomes = await Promise.allSettled(writes);
    await cut;

    // The transaction did commit: the database holds all three writes.
    const rows = await storage.reads.getEntries(
      store.uid,
      keys.map((k) => k.keyId),
      null,
    );
    expect(rows.map((r) => r.version).sort()).toEqual([4, 5, 6]);
    // So no caller may be told its write was refused.
    const reasons = outcomes.map((o) =>
      o.status === "fulfilled" ? "written" : (o.reason as { reason?: string }).reason,
    );
    for (const reason of reasons) expect(["written", "STORAGE_UNAVAILABLE"]).toContain(reason);
    expect(reasons).toContain("STORAGE_UNAVAILABLE");

    // The same for a solo command: the store was created, so "already exists" would be false.
    const cutAgain = proxy.cutAfter(Buffer.from("commit\0"));
    const created = await storage.write({ kind: "createStore", row: fresh }).then(
      () => "written",
      (e: { reason?: string }) => e.reason,
    );
    await cutAgain;
    expect((await storage.reads.findStore(fresh.id))?.uid).toEqual(fresh.uid);
    expect(["written", "STORAGE_UNAVAILABLE"]).toContain(created);

    // The audit records went with the lost commit: the writer cannot know its chain's head.
    // Audited writes must go on (not collide with the stored records forever), and the
    // log must still verify.
    for (const [i, key] of keys.entries()) {
      await storage.write({ ...setValue(store, key), audit: record(`after-${i}`) });
    }
    const report = await verifyAudit(storage.reads, [masterKey]);
    expect(report.breaks).toEqual([]);
    expect(report.records).toBeGreaterThanOrEqual(6);
  });

  function record(requestId: string): AuditRecord {
    return {
      at: Date.now(),
      requestId,
      tokenId: null,
      method: "/hexclave.v1.VaultService/SetValue",
      storeId: "lost-commit",
      keyIdPrefix: null,
      code: 0,
      reason: "OK",
      peer: "test",
      clientIdentity: null,
    };
  }
});
