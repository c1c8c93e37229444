import { overloaded, shuttingDown } from "../vault/storage-errors.js";
import type {
  StorageCondition,
  WriteBatchReport,
  WriteTransaction,
} from "../vault/storage-port.js";
import { isVaultError } from "../vault/vault-error.js";
import { type BatchContext, runWriteBatch } from "../vault/write-batch.js";
import { SOLO_COMMANDS, type WriteCommand, type WriteResultOf } from "../vault/write-commands.js";

/** Options for {@link GroupCommit}. */
export interface GroupCommitOptions {
  /** Commands sharing one transaction at most. Default 512. */
  readonly maxBatchSize?: number;
  /**
   * Commands waiting at most; beyond it callers get RESOURCE_EXHAUSTED instead
   * of growing memory without bound. Default 10,000.
   */
  readonly maxQueued?: number;
}

/** Runs `work` in one write transaction; durable once it resolves. */
export type RunTransaction = <T>(
  work: (tx: WriteTransaction) => Promise<T>,
  durability: BatchDurability,
) => Promise<T>;

/**
 * How a batch's commit must reach the disk. "flush": the commit returns once
 * it is on the disk (fsync), as every acknowledged write needs. "records": the
 * batch holds only records of calls that changed nothing (reads' audit
 * records, last-use times); its commit is in the database, safe from a crash
 * of the server process, when it returns, and reaches the disk with the next
 * flushed commit or the database's own background flush. docs/audit.md,
 * "Durability of read records".
 */
export type BatchDurability = "flush" | "records";

/** Commands that record what was done without changing any entry, store or token. */
const RECORD_COMMANDS: ReadonlySet<WriteCommand["kind"]> = new Set(["appendAudit", "touchTokens"]);

/**
 * The durability a batch needs: relaxed only when every command in it is a record.
 *
 * @example
 * durabilityOf([{ kind: "appendAudit", records }]); // "records"
 */
export function durabilityOf(commands: readonly WriteCommand[]): BatchDurability {
  return commands.every((c) => RECORD_COMMANDS.has(c.kind)) ? "records" : "flush";
}

/** What a driver failure means, as the adapter classifies it. */
export interface Failure {
  /** The error to give callers: a VaultError for known conditions, else the error itself. */
  readonly error: unknown;
  /** The database's condition this failure shows, if it shows one. */
  readonly condition: StorageCondition | undefined;
  /** Worth running the same transaction again at once (a deadlock, a serialization failure). */
  readonly retry: boolean;
}

interface Job {
  readonly command: WriteCommand;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** Transactions retried after a deadlock or serialization failure before giving up. */
const RETRIES = 3;

/**
 * Group commit, for any adapter: commands that arrive while a transaction is
 * being committed wait, then share the next transaction and its one fsync. A
 * command settles only after the transaction holding it has committed, so
 * nothing is acknowledged early. The batch logic itself is the vault's
 * (write-batch.ts); this is the queue, the transaction and the retries.
 *
 * A command refused by a check (a VaultError) fails alone. Any other failure
 * aborts the transaction; its commands are then run one per transaction, so
 * one bad command cannot fail its neighbours — unless the database itself
 * failed (unreachable, full, damaged): then the batch may have committed, and
 * every command fails with that error rather than run twice.
 *
 * @example
 * const writes = new GroupCommit(run, { keys, audit }, classify, report);
 * const { version } = await writes.submit(setValueCommand);
 */
export class GroupCommit {
  readonly #run: RunTransaction;
  readonly #context: BatchContext;
  readonly #classify: (error: unknown) => Failure;
  readonly #report: (condition: StorageCondition, cause: unknown) => void;
  readonly #maxBatchSize: number;
  readonly #maxQueued: number;
  readonly #onBatch: ((batch: WriteBatchReport) => void) | undefined;
  #queue: Job[] = [];
  #committing = 0;
  #running = false;
  #closed = false;
  #idle: (() => void)[] = [];

  constructor(
    run: RunTransaction,
    context: BatchContext,
    classify: (error: unknown) => Failure,
    report: (condition: StorageCondition, cause: unknown) => void,
    options: GroupCommitOptions = {},
    onBatch?: (batch: WriteBatchReport) => void,
  ) {
    this.#onBatch = onBatch;
    this.#run = run;
    this.#context = context;
    this.#classify = classify;
    this.#report = report;
    this.#maxBatchSize = options.maxBatchSize ?? 512;
    this.#maxQueued = options.maxQueued ?? 10_000;
  }

  /** Commands waiting for a transaction. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Commands submitted and not yet settled: waiting, or in the transaction being committed. */
  get pending(): number {
    return this.#queue.length + this.#committing;
  }

  /**
   * Queues a command; resolves with its result once committed.
   *
   * @throws VaultError OVERLOADED when the queue is full, SHUTTING_DOWN after close().
   */
  submit<C extends WriteCommand>(command: C): Promise<WriteResultOf<C>> {
    if (this.#closed) return Promise.reject(shuttingDown());
    if (this.#queue.length >= this.#maxQueued) {
      return Promise.reject(overloaded(this.#queue.length));
    }
    return new Promise<WriteResultOf<C>>((resolve, reject) => {
      this.#queue.push({ command, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#running) {
        this.#running = true;
        // Let the commands that arrive in this turn of the event loop join the batch.
        setImmediate(() => void this.#drain());
      }
    });
  }

  /** Refuses new commands and resolves once the queued ones have committed. */
  close(): Promise<void> {
    this.#closed = true;
    if (!this.#running) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const jobs = this.#nextBatch();
      this.#committing = jobs.length;
      try {
        await this.#commit(jobs);
      } catch (error) {
        // Whether the failed transaction's audit records are stored is unknown (see below):
        // continue in a new chain rather than collide with, or fork from, the old one's head.
        this.#context.audit.restart();
        // A failing database (not a failing command) may even have committed the transaction:
        // a connection lost with the COMMIT on its way. Run again, a write would find itself
        // and be refused (VERSION_CONFLICT for what it wrote); each caller learns it failed.
        if (jobs.length === 1 || this.#classify(error).condition !== undefined) {
          for (const job of jobs) this.#fail(job, error);
        } else {
          // Whatever failed is retried command by command, each failure for its own caller.
          for (const job of jobs) {
            await this.#commit([job]).catch((e: unknown) => this.#fail(job, e));
          }
        }
      }
      this.#committing = 0;
      if (this.#queue.length > 0) await new Promise((resolve) => setImmediate(resolve));
    }
    this.#running = false;
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  #fail(job: Job, error: unknown): void {
    const failure = this.#classify(error);
    if (failure.condition !== undefined) this.#report(failure.condition, error);
    job.reject(failure.error);
  }

  /** The next transaction's jobs: one solo command, or a run of shareable ones. */
  #nextBatch(): Job[] {
    const first = this.#queue[0] as Job;
    if (SOLO_COMMANDS.has(first.command.kind)) return this.#queue.splice(0, 1);
    let end = 1;
    while (
      end < this.#queue.length &&
      end < this.#maxBatchSize &&
      !SOLO_COMMANDS.has((this.#queue[end] as Job).command.kind)
    ) {
      end += 1;
    }
    return this.#queue.splice(0, end);
  }

  /** Runs the jobs in one transaction and settles each; throws (settling none) if it fails. */
  async #commit(jobs: readonly Job[]): Promise<void> {
    const commands = jobs.map((j) => j.command);
    for (let attempt = 0; ; attempt += 1) {
      try {
        const began = performance.now();
        const result = await this.#run(
          (tx) => runWriteBatch(tx, commands, this.#context),
          durabilityOf(commands),
        );
        result.committed();
        this.#onBatch?.({ commands: commands.length, commitMs: performance.now() - began });
        this.#report("ok", undefined);
        jobs.forEach((job, i) => {
          const outcome = result.outcomes[i];
          if (outcome?.ok === true) job.resolve(outcome.value);
          else job.reject(outcome?.error);
        });
        return;
      } catch (error) {
        if (isVaultError(error) || attempt >= RETRIES || !this.#classify(error).retry) throw error;
      }
    }
  }
}
