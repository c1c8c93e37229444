import {
  runCreateStore,
  runDeleteStoreRows,
  runDestroyStoreKey,
  runInsertToken,
  runPurgeEntries,
  runRevokeToken,
  runTouchTokens,
} from "./admin-commands.js";
import type { DataKeyRing } from "./data-key-ring.js";
import {
  runDeleteValue,
  runRegisterSecret,
  runRetireSecret,
  runSetValue,
} from "./entry-commands.js";
import type { Repository, RepositoryTransaction } from "./repository.js";
import { type WriteBatch, WriteBatcher, type WriteBatcherOptions } from "./write-batcher.js";
import type { CommandRunner, ResultOf, WriteCommand, WriteContext } from "./write-command.js";

/**
 * Where the vault's writes run. The vault hands over commands and awaits
 * their results; an executor decides the thread and batches them into
 * transactions (group commit). A result arrives only after its commit.
 */
export interface WriteExecutor {
  /**
   * Runs one command in a shared transaction; resolves once it is durable.
   *
   * @throws VaultError from the command's checks (nothing written), OVERLOADED, SHUTTING_DOWN.
   */
  run<C extends WriteCommand>(command: C): Promise<ResultOf<C>>;
  /**
   * See {@link Repository.scrub}. Not ordered with queued writes: await the
   * writes whose traces it must remove before calling it.
   */
  scrub(): Promise<void>;
  /** Refuses new commands, commits queued ones, releases the writer's resources. */
  close(): Promise<void>;
}

const RUNNERS: {
  readonly [K in WriteCommand["kind"]]: CommandRunner<Extract<WriteCommand, { kind: K }>>;
} = {
  setValue: runSetValue,
  deleteValue: runDeleteValue,
  registerSecret: runRegisterSecret,
  retireSecret: runRetireSecret,
  createStore: runCreateStore,
  destroyStoreKey: runDestroyStoreKey,
  purgeEntries: runPurgeEntries,
  deleteStoreRows: runDeleteStoreRows,
  insertToken: runInsertToken,
  revokeToken: runRevokeToken,
  touchTokens: runTouchTokens,
};

/** Runs one command inside a batch's transaction. */
function runWriteCommand<C extends WriteCommand>(
  command: C,
  tx: RepositoryTransaction,
  batch: WriteBatch,
  context: WriteContext,
): Promise<ResultOf<C>> {
  // The table is typed per kind; TypeScript cannot narrow it through the generic.
  const runner = RUNNERS[command.kind] as unknown as CommandRunner<C>;
  return runner(command, tx, batch, context);
}

/**
 * Runs commands in this thread over a repository, with group commit. The
 * writer thread runs one of these too, on its own connection.
 *
 * @example
 * const writes = new InlineWriteExecutor(repository, new DataKeyRing(masterKey));
 * const { version } = await writes.run({ kind: "setValue", … });
 */
export class InlineWriteExecutor implements WriteExecutor {
  readonly #repository: Repository;
  readonly #keys: DataKeyRing;
  readonly #context: WriteContext;
  readonly #batcher: WriteBatcher;

  constructor(repository: Repository, keys: DataKeyRing, options: WriteBatcherOptions = {}) {
    this.#repository = repository;
    this.#keys = keys;
    this.#context = { keys };
    this.#batcher = new WriteBatcher((work) => repository.transaction(work), options);
  }

  run<C extends WriteCommand>(command: C): Promise<ResultOf<C>> {
    return this.#batcher.submit((tx, batch) => runWriteCommand(command, tx, batch, this.#context));
  }

  scrub(): Promise<void> {
    return this.#repository.scrub();
  }

  async close(): Promise<void> {
    await this.#batcher.close();
    this.#keys.clear();
  }
}
