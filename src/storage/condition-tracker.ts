import type { StorageCondition } from "../vault/storage-port.js";

/**
 * The database's condition as an adapter last saw it, with listeners. A
 * damaged database stays "corrupted": nothing the server does makes it whole
 * again, so it never reports "ok" until it is restarted on a good copy.
 *
 * @example
 * const tracker = new ConditionTracker();
 * tracker.on((condition) => health.set(condition === "ok"));
 * tracker.report("disk-full", error);
 */
export class ConditionTracker {
  #condition: StorageCondition = "ok";
  readonly #listeners = new Set<(condition: StorageCondition, cause: unknown) => void>();

  get condition(): StorageCondition {
    return this.#condition;
  }

  /** Records what a database call just showed; listeners hear only of changes. */
  report(condition: StorageCondition, cause: unknown): void {
    if (this.#condition === condition || this.#condition === "corrupted") return;
    this.#condition = condition;
    for (const listener of this.#listeners) listener(condition, cause);
  }

  /** Calls `listener` on every change until the returned function is called. */
  on(listener: (condition: StorageCondition, cause: unknown) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
