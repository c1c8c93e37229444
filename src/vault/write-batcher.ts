import type { CountDelta, RepositoryTransaction, SecretRow, StoreRow } from "./repository.js";
import { isVaultError, VaultError } from "./vault-error.js";

/**
 * State shared by the writes of one batch (one transaction): secrets
 * registered earlier in the batch, counter changes to apply before commit, and
 * cache updates to make only after commit.
 */
export class WriteBatch {
  readonly #tx: RepositoryTransaction;
  readonly #secrets = new Map<string, Map<string, SecretRow>>();
  readonly #stores = new Map<string, Promise<StoreRow | undefined>>();
  readonly #deltas = new Map<string, CountDelta>();
  readonly #afterCommit: (() => void)[] = [];
  readonly #versions = new Map<string, { uid: Buffer; last: number }>();

  constructor(tx: RepositoryTransaction) {
    this.#tx = tx;
  }

  /** The store's registered secrets by fingerprint (hex), as this transaction sees them. */
  async secretsOf(storeUid: Buffer): Promise<Map<string, SecretRow>> {
    const key = storeUid.toString("hex");
    let secrets = this.#secrets.get(key);
    if (secrets === undefined) {
      const rows = await this.#tx.listSecrets(storeUid);
      secrets = new Map(rows.map((r) => [r.fingerprint.toString("hex"), r]));
      this.#secrets.set(key, secrets);
    }
    return secrets;
  }

  /** The live store with this id as this transaction sees it, looked up once per batch. */
  liveStore(
    storeId: string,
    load: () => Promise<StoreRow | undefined>,
  ): Promise<StoreRow | undefined> {
    let row = this.#stores.get(storeId);
    if (row === undefined) {
      row = load();
      this.#stores.set(storeId, row);
    }
    return row;
  }

  /** Records that a store stopped being live in this transaction. */
  storeGone(storeId: string): void {
    this.#stores.set(storeId, Promise.resolve(undefined));
  }

  /** Adds to a store's and a secret's entry and byte counts at commit. */
  count(storeUid: Buffer, fingerprint: Buffer, entries: number, bytes: number): void {
    const key = `${storeUid.toString("hex")}:${fingerprint.toString("hex")}`;
    const sum = this.#deltas.get(key);
    this.#deltas.set(key, {
      storeUid,
      fingerprint,
      entries: (sum?.entries ?? 0) + entries,
      bytes: (sum?.bytes ?? 0) + bytes,
    });
  }

  /**
   * The store's next entry version: store-wide and increasing, so no two
   * writes in a store ever share one. Saved once per batch, before commit.
   */
  nextVersion(store: StoreRow): number {
    const key = store.uid.toString("latin1");
    const counter = this.#versions.get(key) ?? { uid: store.uid, last: store.lastVersion };
    counter.last += 1;
    this.#versions.set(key, counter);
    return counter.last;
  }

  /** Runs `effect` once the batch has committed (never if it rolls back). */
  afterCommit(effect: () => void): void {
    this.#afterCommit.push(effect);
  }

  /** @internal */
  async beforeCommit(): Promise<void> {
    if (this.#deltas.size > 0) await this.#tx.applyCountDeltas([...this.#deltas.values()]);
    for (const { uid, last } of this.#versions.values()) await this.#tx.setLastVersion(uid, last);
  }

  /** @internal */
  committed(): void {
    for (const effect of this.#afterCommit) effect();
  }
}

/** The error for a write arriving after shutdown began. */
export function shuttingDown(): VaultError {
  return new VaultError(
    "SHUTTING_DOWN",
    "the server is shutting down: retry against another instance",
  );
}

/** The error for a write beyond the queue's bound (`queued` writes already waiting). */
export function overloaded(queued: number): VaultError {
  return new VaultError(
    "OVERLOADED",
    "the server has too many writes waiting: retry with backoff",
    {
      metadata: { queued: String(queued) },
    },
  );
}

/** One write: runs inside a shared transaction; throws VaultError before writing anything. */
export type WriteWork<T> = (tx: RepositoryTransaction, batch: WriteBatch) => Promise<T>;

/** Options for {@link WriteBatcher}. */
export interface WriteBatcherOptions {
  /** Writes sharing one transaction at most. Default 512. */
  readonly maxBatchSize?: number;
  /**
   * Writes waiting at most; beyond it callers get RESOURCE_EXHAUSTED instead of
   * growing memory without bound. Default 10,000.
   */
  readonly maxQueued?: number;
}

interface Job {
  readonly work: WriteWork<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

type Outcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: unknown };

/** Runs a transaction for a repository; the batcher never sees the database itself. */
export type RunTransaction = <T>(work: (tx: RepositoryTransaction) => Promise<T>) => Promise<T>;

/**
 * Group commit: writes that arrive while a transaction is being committed
 * wait, then share the next transaction and its one fsync. A write's promise
 * settles only after the transaction holding it has committed, so nothing is
 * acknowledged early.
 *
 * A write that fails with a VaultError (a failed check) has written nothing
 * and fails alone. Any other error aborts the transaction; each of its writes
 * is then retried in a transaction of its own, so one bad write cannot fail
 * its neighbours.
 *
 * @example
 * const version = await batcher.submit(async (tx, batch) => { … return 2; });
 */
export class WriteBatcher {
  readonly #run: RunTransaction;
  readonly #maxBatchSize: number;
  readonly #maxQueued: number;
  #queue: Job[] = [];
  #running = false;
  #closed = false;
  #idle: (() => void)[] = [];

  constructor(run: RunTransaction, options: WriteBatcherOptions = {}) {
    this.#run = run;
    this.#maxBatchSize = options.maxBatchSize ?? 512;
    this.#maxQueued = options.maxQueued ?? 10_000;
  }

  /** Writes waiting for a transaction. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Queues a write; resolves with its result once committed.
   *
   * @throws VaultError OVERLOADED when the queue is full, SHUTTING_DOWN after close().
   */
  submit<T>(work: WriteWork<T>): Promise<T> {
    if (this.#closed) return Promise.reject(shuttingDown());
    if (this.#queue.length >= this.#maxQueued)
      return Promise.reject(overloaded(this.#queue.length));
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#running) {
        this.#running = true;
        // Let the calls that arrived in this turn of the event loop join the batch.
        setImmediate(() => void this.#drain());
      }
    });
  }

  /** Refuses new writes and resolves once the queued ones have committed. */
  close(): Promise<void> {
    this.#closed = true;
    if (!this.#running) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const jobs = this.#queue.splice(0, this.#maxBatchSize);
      const outcomes = await this.#commit(jobs).catch(async (error: unknown) =>
        jobs.length === 1 ? [{ ok: false as const, error }] : this.#commitOneByOne(jobs),
      );
      jobs.forEach((job, i) => {
        const outcome = outcomes[i] as Outcome;
        if (outcome.ok) job.resolve(outcome.value);
        else job.reject(outcome.error);
      });
      if (this.#queue.length > 0) await new Promise((resolve) => setImmediate(resolve));
    }
    this.#running = false;
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  async #commit(jobs: readonly Job[]): Promise<Outcome[]> {
    let batch: WriteBatch | undefined;
    const outcomes = await this.#run(async (tx) => {
      batch = new WriteBatch(tx);
      const results: Outcome[] = [];
      for (const job of jobs) {
        try {
          results.push({ ok: true, value: await job.work(tx, batch) });
        } catch (error) {
          if (!isVaultError(error)) throw error;
          results.push({ ok: false, error });
        }
      }
      await batch.beforeCommit();
      return results;
    });
    batch?.committed();
    return outcomes;
  }

  async #commitOneByOne(jobs: readonly Job[]): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    for (const job of jobs) {
      try {
        const [outcome] = await this.#commit([job]);
        outcomes.push(outcome as Outcome);
      } catch (error) {
        outcomes.push({ ok: false, error });
      }
    }
    return outcomes;
  }
}
