import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";

/** File whose lock marks a data directory as in use. */
const LOCK_FILE_NAME = "hexclave.lock";

/** A held data-directory lock. */
export interface DataDirLock {
  release(): void;
}

/**
 * Takes the data directory for this process. Two servers on one directory
 * would each trust caches the other makes stale, so the second is refused.
 * The lock is SQLite's exclusive file lock on a small file of its own: the
 * operating system drops it when the process dies, so a crash (or a
 * container whose server is always PID 1) never leaves a stale lock behind.
 *
 * @throws Error naming the directory if another process holds it.
 * @example
 * const lock = lockDataDir("/data");
 * // … serve …
 * lock.release();
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const path = join(dataDir, LOCK_FILE_NAME);
  const db = new BetterSqlite3(path, { timeout: 0 });
  try {
    db.pragma("locking_mode = EXCLUSIVE");
    db.exec("BEGIN EXCLUSIVE");
  } catch (cause) {
    db.close();
    throw new Error(
      `the data directory ${dataDir} is in use by another Hexclave server: stop it first, or give this one its own --data-dir`,
      { cause },
    );
  }
  return {
    release() {
      db.exec("ROLLBACK");
      db.close();
    },
  };
}
