import { parentPort, workerData } from "node:worker_threads";
import { sql } from "kysely";
import { AuditChain } from "../vault/audit-chain.js";
import { DataKeyRing } from "../vault/data-key-ring.js";
import type { StorageCondition, WriteBatchReport } from "../vault/storage-port.js";
import type { WriteCommand } from "../vault/write-commands.js";
import { type BatchDurability, GroupCommit, type GroupCommitOptions } from "./group-commit.js";
import { HotReads } from "./kysely-reads.js";
import { KyselyTransaction } from "./kysely-transaction.js";
import { HEARTBEAT_MS, heartbeat, type ServerIdentity } from "./server-registry.js";
import { openSqliteKysely } from "./sqlite-database.js";
import { sqliteFailure } from "./sqlite-failures.js";
import {
  exactBuffers,
  type FromWriter,
  reviveBuffers,
  serializeError,
  type ToWriter,
  type WriterResult,
} from "./writer-messages.js";

/**
 * The writer thread: owns the database's write connection and runs every
 * write command with group commit; its fsyncs and at-rest sealing never
 * block the thread that serves calls. It also writes this server's
 * heartbeat, which doubles as the probe that sees a full disk drain.
 */
interface WriterData {
  readonly path: string;
  readonly masterKeys: readonly Uint8Array[];
  readonly writes: GroupCommitOptions;
  readonly server: ServerIdentity;
}

const port = parentPort;
if (port === null) throw new Error("writer-thread-worker.js runs only as a worker thread");
const data = workerData as WriterData;
const db = openSqliteKysely(data.path);
const hot = new HotReads(db);
const keys = new DataKeyRing(data.masterKeys.map((k) => Buffer.from(k)));
const dialect = { lockTokensForBootstrap: async () => {} };
let condition: StorageCondition = "ok";
const report = (next: StorageCondition, cause: unknown): void => {
  if (next === condition || condition === "corrupted") return;
  condition = next;
  post({
    type: "condition",
    condition: next,
    cause: cause === undefined ? undefined : serializeError(cause),
  });
};
// Batches of records only (reads' audit records) commit without an fsync: in WAL mode that
// is synchronous=NORMAL, safe from a crash of this process, on the disk with the next FULL
// commit or checkpoint (docs/audit.md, "Durability of read records"). Every other batch: FULL.
let synchronous: BatchDurability = "flush";
const writes = new GroupCommit(
  async (work, durability) => {
    if (durability !== synchronous) {
      await sql
        .raw(`pragma synchronous = ${durability === "flush" ? "FULL" : "NORMAL"}`)
        .execute(db);
      synchronous = durability;
    }
    return db.transaction().execute((tx) => work(new KyselyTransaction(tx, hot, dialect)));
  },
  { keys, audit: new AuditChain(data.masterKeys[0] as Uint8Array, data.server.id) },
  sqliteFailure,
  report,
  data.writes,
  (batch) => {
    batches.push(batch);
    if (!flushing) {
      flushing = true;
      setImmediate(flush);
    }
  },
);
const beat = setInterval(() => {
  heartbeat(db, data.server).then(
    () => report("ok", undefined),
    (error: unknown) => {
      const failure = sqliteFailure(error);
      if (failure.condition !== undefined) report(failure.condition, error);
    },
  );
}, HEARTBEAT_MS);

// Results leave in batches, one message per turn of the loop, like the jobs came in.
let outbox: WriterResult[] = [];
let batches: WriteBatchReport[] = [];
let flushing = false;
const post = (message: FromWriter): void => port.postMessage(message);
const flush = (): void => {
  flushing = false;
  if (outbox.length === 0 && batches.length === 0) return;
  post({ type: "results", results: outbox, batches });
  outbox = [];
  batches = [];
};
const settle = (id: number, work: Promise<unknown>): void => {
  work
    .then(
      (value) => outbox.push({ id, ok: true, value: exactBuffers(value) }),
      (error: unknown) => outbox.push({ id, ok: false, error: serializeError(error) }),
    )
    .finally(() => {
      if (!flushing) {
        flushing = true;
        setImmediate(flush);
      }
    });
};

/** Folds the WAL into the database file and truncates it: old page images are gone. */
async function scrub(): Promise<void> {
  await sql`pragma wal_checkpoint(TRUNCATE)`.execute(db);
}

port.on("message", (message: ToWriter) => {
  if (message.type === "run") {
    for (const job of message.jobs) {
      settle(
        job.id,
        "scrub" in job ? scrub() : writes.submit(reviveBuffers(job.command) as WriteCommand),
      );
    }
    return;
  }
  clearInterval(beat);
  void writes
    .close()
    .then(() => db.destroy())
    .finally(() => {
      keys.clear();
      flush();
      post({ type: "closed" });
    });
});
post({ type: "ready" });
