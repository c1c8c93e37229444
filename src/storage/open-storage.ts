import { join } from "node:path";
import { DataKeyRing } from "../vault/data-key-ring.js";
import type { RepositoryReads } from "../vault/repository.js";
import type { WriteBatcherOptions } from "../vault/write-batcher.js";
import { InlineWriteExecutor, type WriteExecutor } from "../vault/write-executor.js";
import { lockDataDir } from "./data-dir-lock.js";
import { openRepository, SQLITE_FILE_NAME, type StorageOptions } from "./open-repository.js";
import { startWriterThread } from "./writer-thread.js";

/** The vault's storage: reads for the calls' thread, and where writes run. */
export interface Storage {
  readonly reads: RepositoryReads;
  readonly writes: WriteExecutor;
  /** Closes the writer (committing queued writes), then the read connection. */
  close(): Promise<void>;
}

/** Options for {@link openStorage}. */
export interface OpenStorageOptions extends StorageOptions {
  readonly masterKey: Buffer;
  readonly writes?: WriteBatcherOptions;
  /**
   * Run writes on a thread of their own (default): fsync and at-rest sealing
   * then never stall the event loop that serves calls, and use the second
   * core. False runs them on the calls' thread (one connection).
   */
  readonly writerThread?: boolean;
  /** Told if the writer thread dies. */
  readonly onWriterFailure?: (error: Error) => void;
}

/**
 * Takes the data directory, opens the database (migrating it) and starts the writer.
 *
 * @throws Error if another server holds the directory, the database cannot be
 *   opened or migrated, or the writer cannot start.
 * @example
 * const storage = await openStorage({ dataDir: "./.hexclave", masterKey });
 */
export async function openStorage(options: OpenStorageOptions): Promise<Storage> {
  const lock = lockDataDir(options.dataDir);
  let repository: Awaited<ReturnType<typeof openRepository>>;
  try {
    repository = await openRepository(options);
  } catch (error) {
    lock.release();
    throw error;
  }
  let writes: WriteExecutor;
  try {
    writes =
      options.writerThread === false
        ? new InlineWriteExecutor(repository, new DataKeyRing(options.masterKey), options.writes)
        : await startWriterThread({
            path: join(options.dataDir, SQLITE_FILE_NAME),
            masterKey: options.masterKey,
            ...(options.writes === undefined ? {} : { writes: options.writes }),
            ...(options.onWriterFailure === undefined
              ? {}
              : { onFailure: options.onWriterFailure }),
          });
  } catch (error) {
    await repository.close();
    lock.release();
    throw error;
  }
  return {
    reads: repository,
    writes,
    async close() {
      await writes.close();
      await repository.close();
      lock.release();
    },
  };
}
