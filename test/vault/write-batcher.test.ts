import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openRepository } from "../../src/storage/open-repository.js";
import type { Repository, RepositoryTransaction, TokenRow } from "../../src/vault/repository.js";
import { isVaultError, VaultError } from "../../src/vault/vault-error.js";
import {
  type RunTransaction,
  WriteBatcher,
  type WriteBatcherOptions,
  type WriteWork,
} from "../../src/vault/write-batcher.js";
import { openDataFile } from "../support/sqlite-files.js";

/**
 * Group commit over a real SQLite repository: writes share transactions, a
 * write settles only once its transaction has committed, a failed check fails
 * alone, an unexpected failure does not take its neighbours down, the queue
 * is bounded, and close() finishes what was queued.
 */

let dataDir: string;
let repo: Repository;
/** A second connection: what it sees is what has committed. */
let observer: BetterSqlite3.Database;
let transactions: number;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "hexclave-batcher-"));
  repo = await openRepository({ dataDir });
  observer = openDataFile(dataDir, { readonly: true });
  transactions = 0;
});

afterEach(async () => {
  observer?.close();
  await repo?.close();
  await rm(dataDir, { recursive: true, force: true });
});

function batcher(options: WriteBatcherOptions = {}): WriteBatcher {
  const run: RunTransaction = (work) => {
    transactions += 1;
    return repo.transaction(work);
  };
  return new WriteBatcher(run, options);
}

function tokenRow(id = randomBytes(8).toString("hex")): TokenRow {
  return {
    id,
    name: `token ${id}`,
    secretHash: randomBytes(32),
    admin: false,
    grants: [{ storeId: "s", read: true, write: false }],
    createdAt: Date.now(),
    lastUsedAt: null,
    revokedAt: null,
  };
}

/** A write that inserts one token and returns its id. */
function insert(id = randomBytes(8).toString("hex")): WriteWork<string> {
  return async (tx: RepositoryTransaction) => {
    await tx.insertToken(tokenRow(id));
    return id;
  };
}

function committed(id: string): boolean {
  return observer.prepare("select count(*) from tokens where id = ?").pluck().get(id) === 1;
}

function rowCount(): number {
  return observer.prepare("select count(*) from tokens").pluck().get() as number;
}

describe("group commit", () => {
  it("writes submitted together share one transaction, and each settles only after it committed", async () => {
    const b = batcher();
    const visibleAtAck: boolean[] = [];
    const writes = Array.from({ length: 50 }, () =>
      b.submit(insert()).then((id) => {
        // Checked synchronously at the moment of acknowledgement, from another connection.
        visibleAtAck.push(committed(id));
        return id;
      }),
    );
    const ids = await Promise.all(writes);
    expect(new Set(ids).size).toBe(50);
    expect(visibleAtAck).toEqual(Array(50).fill(true));
    expect(transactions).toBe(1);
  });

  it("writes that arrive while a transaction runs join the next one", async () => {
    const b = batcher();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const first = b.submit(async (tx) => {
      started();
      await gate;
      return insert()(tx, undefined as never);
    });
    await running;
    const later = Array.from({ length: 20 }, () => b.submit(insert()));
    expect(b.queued).toBe(20);
    expect(rowCount()).toBe(0);
    release();
    await Promise.all([first, ...later]);
    expect(transactions).toBe(2);
    expect(rowCount()).toBe(21);
  });

  it("a batch holds at most maxBatchSize writes", async () => {
    const b = batcher({ maxBatchSize: 4 });
    await Promise.all(Array.from({ length: 10 }, () => b.submit(insert())));
    expect(transactions).toBe(3);
    expect(rowCount()).toBe(10);
  });
});

describe("failures", () => {
  it("a VaultError (a failed check, nothing written) fails only its own write, in the same transaction", async () => {
    const b = batcher();
    const refusal = new VaultError("VERSION_CONFLICT", "the entry is at version 2, not 1");
    const [a, failed, c] = await Promise.allSettled([
      b.submit(insert()),
      b.submit(async () => {
        throw refusal;
      }),
      b.submit(insert()),
    ]);
    expect(a?.status).toBe("fulfilled");
    expect(c?.status).toBe("fulfilled");
    expect(failed).toEqual({ status: "rejected", reason: refusal });
    expect(transactions).toBe(1);
    expect(rowCount()).toBe(2);
  });

  it("an unexpected database error aborts the batch; the others are retried one by one and succeed", async () => {
    const b = batcher();
    const existing = await b.submit(insert());
    transactions = 0;
    const effects: string[] = [];
    const withEffect =
      (id: string, work: WriteWork<string>): WriteWork<string> =>
      async (tx, batch) => {
        const result = await work(tx, batch);
        batch.afterCommit(() => effects.push(id));
        return result;
      };
    const ids = ["aaaaaaaaaaaaaaa1", "aaaaaaaaaaaaaaa2", "aaaaaaaaaaaaaaa3"];
    const outcomes = await Promise.allSettled([
      b.submit(withEffect(ids[0] as string, insert(ids[0]))),
      // A duplicate primary key: SQLite refuses it, as it would any broken statement.
      b.submit(withEffect("duplicate", insert(existing))),
      b.submit(withEffect(ids[1] as string, insert(ids[1]))),
      // Writes a row, then fails: the row must be rolled back.
      b.submit(async (tx) => {
        await tx.insertToken(tokenRow("bbbbbbbbbbbbbbbb"));
        throw new Error("unexpected failure after writing");
      }),
      b.submit(withEffect(ids[2] as string, insert(ids[2]))),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual([
      "fulfilled",
      "rejected",
      "fulfilled",
      "rejected",
      "fulfilled",
    ]);
    const duplicate = (outcomes[1] as PromiseRejectedResult).reason as Error;
    expect(isVaultError(duplicate)).toBe(false);
    expect(duplicate.message).toMatch(/UNIQUE constraint failed/);
    expect(((outcomes[3] as PromiseRejectedResult).reason as Error).message).toBe(
      "unexpected failure after writing",
    );
    // One aborted batch, then each of the five in its own transaction.
    expect(transactions).toBe(6);
    for (const id of ids) expect(committed(id)).toBe(true);
    expect(committed("bbbbbbbbbbbbbbbb")).toBe(false);
    expect(rowCount()).toBe(4);
    // After-commit effects ran once per committed write, never for the aborted attempt.
    expect(effects.sort()).toEqual([...ids].sort());
  });

  it("a lone write that fails unexpectedly is not retried", async () => {
    const b = batcher();
    await expect(
      b.submit(async () => {
        throw new Error("broken");
      }),
    ).rejects.toThrow("broken");
    expect(transactions).toBe(1);
  });
});

describe("bounds and shutdown", () => {
  it("refuses writes beyond maxQueued with OVERLOADED instead of growing without bound", async () => {
    const b = batcher({ maxQueued: 3 });
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => b.submit(insert())));
    expect(outcomes.map((o) => o.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "fulfilled",
      "rejected",
      "rejected",
    ]);
    for (const o of outcomes.slice(3)) {
      const reason = (o as PromiseRejectedResult).reason as VaultError;
      expect(isVaultError(reason)).toBe(true);
      expect(reason.reason).toBe("OVERLOADED");
    }
    expect(rowCount()).toBe(3);
    // Once the queue drains there is room again.
    await b.submit(insert());
    expect(rowCount()).toBe(4);
  });

  it("close() resolves once every queued write has committed, then refuses new ones", async () => {
    const b = batcher({ maxBatchSize: 3 });
    let settled = 0;
    const writes = Array.from({ length: 10 }, () =>
      b.submit(insert()).then(() => {
        settled += 1;
      }),
    );
    await b.close();
    expect(settled).toBe(10);
    expect(rowCount()).toBe(10);
    await Promise.all(writes);
    const late = await b.submit(insert()).then(
      () => undefined,
      (e: unknown) => e as VaultError,
    );
    expect(late?.reason).toBe("SHUTTING_DOWN");
    expect(rowCount()).toBe(10);
  });

  it("close() on an idle batcher resolves at once", async () => {
    const b = batcher();
    await b.close();
    expect(transactions).toBe(0);
  });
});
