import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import type { Kysely } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generateDataKey, masterKeyId, wrapDataKey } from "../../src/crypto/at-rest.js";
import {
  type BatchDurability,
  GroupCommit,
  type GroupCommitOptions,
  type RunTransaction,
} from "../../src/storage/group-commit.js";
import { HotReads } from "../../src/storage/kysely-reads.js";
import { KyselyTransaction } from "../../src/storage/kysely-transaction.js";
import { migrate } from "../../src/storage/migrate.js";
import type { Database } from "../../src/storage/schema.js";
import { openSqliteKysely } from "../../src/storage/sqlite-database.js";
import { sqliteFailure } from "../../src/storage/sqlite-failures.js";
import { SQLITE_COLUMN_TYPES } from "../../src/storage/sqlite-storage.js";
import { AuditChain } from "../../src/vault/audit-chain.js";
import type { AuditRecord } from "../../src/vault/audit-record.js";
import { DataKeyRing } from "../../src/vault/data-key-ring.js";
import { isVaultError, type VaultError } from "../../src/vault/vault-error.js";
import type { AppendAuditCommand, SetValueCommand } from "../../src/vault/write-commands.js";
import { openDataFile } from "../support/sqlite-files.js";

/**
 * Group commit over a real SQLite file: writes share transactions, a write
 * settles only once its transaction has committed, a refused write fails
 * alone, a database error does not take its neighbours down, the queue is
 * bounded, and close() finishes what was queued.
 */

const STORE = "batched";
let dataDir: string;
let db: Kysely<Database>;
let observer: BetterSqlite3.Database;
let transactions: number;
let storeUid: Buffer;
let keys: DataKeyRing;
let gate: Promise<void> | undefined;
let durabilities: BatchDurability[];

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "hexclave-group-"));
  db = openSqliteKysely(join(dataDir, "hexclave.db"));
  await migrate(db, SQLITE_COLUMN_TYPES);
  const masterKey = randomBytes(32);
  keys = new DataKeyRing([masterKey]);
  storeUid = randomBytes(16);
  await db
    .insertInto("stores")
    .values({
      uid: storeUid,
      id: STORE,
      description: "",
      salt: randomBytes(32),
      wrapped_key: wrapDataKey(masterKey, STORE, generateDataKey()),
      master_key_id: masterKeyId(masterKey),
      max_value_bytes: 65536,
      entry_count: 0,
      total_value_bytes: 0,
      created_at: Date.now(),
      last_version: 0,
      deleted_at: null,
    })
    .execute();
  observer = openDataFile(dataDir, { readonly: true });
  transactions = 0;
  gate = undefined;
  durabilities = [];
});

afterEach(async () => {
  observer?.close();
  await db?.destroy();
  await rm(dataDir, { recursive: true, force: true });
});

function groupCommit(options: GroupCommitOptions = {}): GroupCommit {
  const hot = new HotReads(db);
  const dialect = { lockTokensForBootstrap: async () => {} };
  const run: RunTransaction = async (work, durability) => {
    transactions += 1;
    durabilities.push(durability);
    if (gate !== undefined) await gate;
    return db.transaction().execute((tx) => work(new KyselyTransaction(tx, hot, dialect)));
  };
  return new GroupCommit(
    run,
    { keys, audit: new AuditChain(randomBytes(32)) },
    sqliteFailure,
    () => {},
    options,
  );
}

const fingerprint = randomBytes(8);

function setValue(keyId = randomBytes(32), expected?: number): SetValueCommand {
  return {
    kind: "setValue",
    storeId: STORE,
    storeUid,
    key: { keyId, fingerprint },
    previous: [],
    sealed: randomBytes(300),
    expected,
    expiresAt: null,
  };
}

function committed(keyId: Buffer): boolean {
  return observer.prepare("select count(*) from entries where key_id = ?").pluck().get(keyId) === 1;
}

function rowCount(): number {
  return observer.prepare("select count(*) from entries").pluck().get() as number;
}

function readRecord(): AppendAuditCommand {
  const record: AuditRecord = {
    at: Date.now(),
    requestId: "r1",
    tokenId: null,
    method: "/hexclave.v1.VaultService/GetValue",
    storeId: STORE,
    keyIdPrefix: null,
    code: 0,
    reason: "OK",
    peer: "127.0.0.1:1",
    clientIdentity: null,
  };
  return { kind: "appendAudit", records: [record] };
}

describe("group commit", () => {
  it("an acknowledged write is never committed without a flush: only batches of read records skip it", async () => {
    const writes = groupCommit();
    // Reads' records alone may commit without waiting for the disk…
    await Promise.all([writes.submit(readRecord()), writes.submit(readRecord())]);
    // …but a write in the batch makes the whole batch wait for the flush, records included.
    const keyId = randomBytes(32);
    await Promise.all([writes.submit(readRecord()), writes.submit(setValue(keyId))]);
    await writes.submit(setValue());
    expect(durabilities).toEqual(["records", "flush", "flush"]);
    expect(committed(keyId)).toBe(true);
  });

  it("writes submitted together share one transaction, and each settles only after it committed", async () => {
    const writes = groupCommit();
    const visibleAtAck: boolean[] = [];
    const commands = Array.from({ length: 50 }, () => setValue());
    const versions = await Promise.all(
      commands.map((command) =>
        writes.submit(command).then((result) => {
          // Checked synchronously at the moment of acknowledgement, from another connection.
          visibleAtAck.push(committed(command.key.keyId));
          return result.version;
        }),
      ),
    );
    expect(new Set(versions).size).toBe(50);
    expect(visibleAtAck).toEqual(Array(50).fill(true));
    expect(transactions).toBe(1);
  });

  it("writes that arrive while a transaction runs join the next one", async () => {
    let release!: () => void;
    gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const writes = groupCommit();
    const first = writes.submit(setValue());
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    const later = Array.from({ length: 20 }, () => writes.submit(setValue()));
    expect(writes.queued).toBe(20);
    expect(rowCount()).toBe(0);
    gate = undefined;
    release();
    await Promise.all([first, ...later]);
    expect(transactions).toBe(2);
    expect(rowCount()).toBe(21);
  });

  it("a batch holds at most maxBatchSize writes", async () => {
    const writes = groupCommit({ maxBatchSize: 4 });
    await Promise.all(Array.from({ length: 10 }, () => writes.submit(setValue())));
    expect(transactions).toBe(3);
    expect(rowCount()).toBe(10);
  });
});

describe("failures", () => {
  it("a refused write (a failed check, nothing written) fails alone, in the same transaction", async () => {
    const writes = groupCommit();
    const [a, failed, c] = await Promise.allSettled([
      writes.submit(setValue()),
      writes.submit(setValue(randomBytes(32), 7)),
      writes.submit(setValue()),
    ]);
    expect(a?.status).toBe("fulfilled");
    expect(c?.status).toBe("fulfilled");
    expect(((failed as PromiseRejectedResult).reason as VaultError).reason).toBe(
      "VERSION_CONFLICT",
    );
    expect(transactions).toBe(1);
    expect(rowCount()).toBe(2);
  });

  it("a database error aborts the batch; the others are retried one by one and succeed", async () => {
    const refused = randomBytes(32);
    // A real database refusal for one row, as a broken statement or constraint would give.
    observer.close();
    const raw = openDataFile(dataDir);
    raw.exec(
      `create trigger refuse_one before insert on entries when new.key_id = x'${refused.toString("hex")}' begin select raise(abort, 'refused by the test'); end`,
    );
    raw.close();
    observer = openDataFile(dataDir, { readonly: true });
    const writes = groupCommit();
    const good = [setValue(), setValue(), setValue()];
    const outcomes = await Promise.allSettled([
      writes.submit(good[0] as SetValueCommand),
      writes.submit(setValue(refused)),
      writes.submit(good[1] as SetValueCommand),
      writes.submit(good[2] as SetValueCommand),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual([
      "fulfilled",
      "rejected",
      "fulfilled",
      "fulfilled",
    ]);
    const error = (outcomes[1] as PromiseRejectedResult).reason as Error;
    expect(isVaultError(error)).toBe(false);
    expect(error.message).toMatch(/refused by the test/);
    // One aborted batch, then each of the four in its own transaction.
    expect(transactions).toBe(5);
    for (const command of good) expect(committed(command.key.keyId)).toBe(true);
    expect(committed(refused)).toBe(false);
    const { last_version } = observer.prepare("select last_version from stores").get() as {
      last_version: number;
    };
    // Versions taken by the aborted batch were rolled back with it.
    expect(last_version).toBe(3);
  });

  it("a lone refused write takes one transaction", async () => {
    const writes = groupCommit();
    const outcome = await writes.submit({ ...setValue(), storeUid: randomBytes(16) }).then(
      () => undefined,
      (e: unknown) => e as VaultError,
    );
    expect(outcome?.reason).toBe("STORE_NOT_FOUND");
    expect(transactions).toBe(1);
  });
});

describe("bounds and shutdown", () => {
  it("refuses writes beyond maxQueued with OVERLOADED instead of growing without bound", async () => {
    const writes = groupCommit({ maxQueued: 3 });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 5 }, () => writes.submit(setValue())),
    );
    expect(outcomes.map((o) => o.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "fulfilled",
      "rejected",
      "rejected",
    ]);
    for (const o of outcomes.slice(3)) {
      expect(((o as PromiseRejectedResult).reason as VaultError).reason).toBe("OVERLOADED");
    }
    expect(rowCount()).toBe(3);
    // Once the queue drains there is room again.
    await writes.submit(setValue());
    expect(rowCount()).toBe(4);
  });

  it("close() resolves once every queued write has committed, then refuses new ones", async () => {
    const writes = groupCommit({ maxBatchSize: 3 });
    let settled = 0;
    const pending = Array.from({ length: 10 }, () =>
      writes.submit(setValue()).then(() => {
        settled += 1;
      }),
    );
    await writes.close();
    expect(settled).toBe(10);
    expect(rowCount()).toBe(10);
    await Promise.all(pending);
    const late = await writes.submit(setValue()).then(
      () => undefined,
      (e: unknown) => e as VaultError,
    );
    expect(late?.reason).toBe("SHUTTING_DOWN");
    expect(rowCount()).toBe(10);
  });

  it("close() on an idle queue resolves at once", async () => {
    const writes = groupCommit();
    await writes.close();
    expect(transactions).toBe(0);
  });
});
