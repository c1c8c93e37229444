import type { Storage, StorageReads } from "../../src/vault/storage-port.js";

/**
 * The real storage, reporting every read and write it is asked for (by
 * method or command kind): for tests that prove a call never reached the
 * database. Nothing is faked; each call goes to the real adapter.
 */
export function countingStorage(storage: Storage, seen: (what: string) => void): Storage {
  const reads = new Proxy(storage.reads, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        seen(String(property));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as StorageReads;
  return {
    reads,
    shared: storage.shared,
    write: (command) => {
      seen(command.kind);
      return storage.write(command);
    },
    scrub: () => storage.scrub(),
    get condition() {
      return storage.condition;
    },
    onCondition: (listener) => storage.onCondition(listener),
    stats: () => storage.stats(),
    onBatch: (listener) => storage.onBatch(listener),
    close: () => storage.close(),
  };
}
