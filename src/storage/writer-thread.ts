import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { overloaded, shuttingDown } from "../vault/storage-errors.js";
import type { StorageCondition, WriteBatchReport } from "../vault/storage-port.js";
import type { WriteCommand, WriteResultOf } from "../vault/write-commands.js";
import type { GroupCommitOptions } from "./group-commit.js";
import type { ServerIdentity } from "./server-registry.js";
import {
  deserializeError,
  exactBuffers,
  type FromWriter,
  reviveBuffers,
  type ToWriter,
  type WriterJob,
} from "./writer-messages.js";

/** Options for {@link startWriterThread}. */
export interface WriterThreadOptions {
  /** The SQLite file. */
  readonly path: string;
  /** Every master key stores may be wrapped under, the current one first. */
  readonly masterKeys: readonly Buffer[];
  readonly writes?: GroupCommitOptions;
  readonly server: ServerIdentity;
  /** Told of every change in the database's condition the writer sees. */
  readonly onCondition: (condition: StorageCondition, cause: unknown) => void;
  /** Told if the writer thread dies: no write can succeed after that. */
  readonly onFailure?: (error: Error) => void;
  /** Told of every committed write transaction. */
  readonly onBatch?: (batch: WriteBatchReport) => void;
}

/** Where an adapter's writes go. */
export interface WriteQueue {
  submit<C extends WriteCommand>(command: C): Promise<WriteResultOf<C>>;
  /** Commands submitted and not yet settled. */
  readonly pending: number;
  scrub(): Promise<void>;
  close(): Promise<void>;
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Starts the writer thread and returns the executor that feeds it. Commands
 * arriving in one turn of the event loop travel in one message; results come
 * back the same way, each only after its transaction committed.
 *
 * @throws Error if the worker cannot open the database.
 * @example
 * const writes = await startWriterThread({ path: "/data/hexclave.db", masterKeys: [masterKey], server, onCondition });
 */
export async function startWriterThread(options: WriterThreadOptions): Promise<WriteQueue> {
  const worker = new Worker(workerPath(), {
    workerData: {
      path: options.path,
      masterKeys: options.masterKeys,
      writes: options.writes ?? {},
      server: options.server,
    },
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    worker.once("error", onError);
    worker.once("message", (message: FromWriter) => {
      worker.off("error", onError);
      if (message.type === "ready") resolve();
      else reject(new Error(`writer thread said ${message.type} before ready`));
    });
  });
  return new WriterThread(worker, options);
}

class WriterThread implements WriteQueue {
  readonly #worker: Worker;
  readonly #maxQueued: number;
  readonly #pending = new Map<number, Pending>();
  #outbox: WriterJob[] = [];
  #nextId = 1;
  #flushing = false;
  #closing: Promise<void> | undefined;
  #failure: Error | undefined;

  constructor(worker: Worker, options: WriterThreadOptions) {
    this.#worker = worker;
    this.#maxQueued = options.writes?.maxQueued ?? 10_000;
    worker.on("message", (message: FromWriter) => {
      if (message.type === "condition") {
        options.onCondition(
          message.condition,
          message.cause === undefined ? undefined : deserializeError(message.cause),
        );
      }
      if (message.type === "results") {
        for (const batch of message.batches) options.onBatch?.(batch);
        for (const result of message.results) {
          const pending = this.#pending.get(result.id);
          this.#pending.delete(result.id);
          if (result.ok) pending?.resolve(reviveBuffers(result.value));
          else pending?.reject(deserializeError(result.error));
        }
      }
    });
    const fail = (error: Error): void => {
      // A crash reports "error" then "exit": tell the server once, and not at all while closing.
      if (this.#failure !== undefined || this.#closing !== undefined) return;
      this.#failure = error;
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
      options.onFailure?.(error);
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`the writer thread exited (code ${code})`)));
  }

  get pending(): number {
    return this.#pending.size;
  }

  submit<C extends WriteCommand>(command: C): Promise<WriteResultOf<C>> {
    return this.#enqueue((id) => ({ id, command: exactBuffers(command) })) as Promise<
      WriteResultOf<C>
    >;
  }

  async scrub(): Promise<void> {
    await this.#enqueue((id) => ({ id, scrub: true }));
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#flush();
      if (this.#failure === undefined) {
        await new Promise<void>((resolve) => {
          this.#worker.on("message", (message: FromWriter) => {
            if (message.type === "closed") resolve();
          });
          this.#worker.once("exit", () => resolve());
          this.#post({ type: "close" });
        });
      }
      for (const pending of this.#pending.values()) pending.reject(shuttingDown());
      this.#pending.clear();
      await this.#worker.terminate();
    })();
    return this.#closing;
  }

  #enqueue(job: (id: number) => WriterJob): Promise<unknown> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#closing !== undefined) return Promise.reject(shuttingDown());
    if (this.#pending.size >= this.#maxQueued) {
      return Promise.reject(overloaded(this.#pending.size));
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#outbox.push(job(id));
      if (!this.#flushing) {
        this.#flushing = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#flushing = false;
    if (this.#outbox.length === 0) return;
    this.#post({ type: "run", jobs: this.#outbox });
    this.#outbox = [];
  }

  #post(message: ToWriter): void {
    this.#worker.postMessage(message);
  }
}

/** The worker's entry point; from TypeScript sources (tests), the build's, which `npm test` makes first. */
function workerPath(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith(".ts"))
    return join(dirname(here), "../../dist/src/storage/writer-thread-worker.js");
  return join(dirname(here), "writer-thread-worker.js");
}
