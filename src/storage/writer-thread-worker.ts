import { parentPort, workerData } from "node:worker_threads";
import { DataKeyRing } from "../vault/data-key-ring.js";
import type { WriteBatcherOptions } from "../vault/write-batcher.js";
import type { WriteCommand } from "../vault/write-command.js";
import { InlineWriteExecutor } from "../vault/write-executor.js";
import { KyselyRepository } from "./kysely-repository.js";
import { openSqliteKysely } from "./open-repository.js";
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
 * write command with group commit. Its fsyncs and at-rest sealing never
 * block the thread that serves calls.
 */
interface WriterData {
  readonly path: string;
  readonly masterKey: Uint8Array;
  readonly writes: WriteBatcherOptions;
}

const port = parentPort;
if (port === null) throw new Error("writer-thread-worker.js runs only as a worker thread");
const data = workerData as WriterData;
const repository = new KyselyRepository(openSqliteKysely(data.path), "sqlite");
const executor = new InlineWriteExecutor(
  repository,
  new DataKeyRing(Buffer.from(data.masterKey)),
  data.writes,
);

// Results leave in batches, one message per turn of the loop, like the jobs came in.
let outbox: WriterResult[] = [];
let flushing = false;
const post = (message: FromWriter): void => port.postMessage(message);
const flush = (): void => {
  flushing = false;
  if (outbox.length === 0) return;
  post({ type: "results", results: outbox });
  outbox = [];
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

port.on("message", (message: ToWriter) => {
  if (message.type === "run") {
    for (const job of message.jobs) {
      settle(
        job.id,
        "scrub" in job
          ? executor.scrub()
          : executor.run(reviveBuffers(job.command) as WriteCommand),
      );
    }
    return;
  }
  void executor
    .close()
    .then(() => repository.close())
    .finally(() => {
      flush();
      post({ type: "closed" });
    });
});
post({ type: "ready" });
