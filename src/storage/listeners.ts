/**
 * A set of listeners for one kind of event. A listener that throws is the
 * listener's bug: it is not allowed to stop the others or the writer.
 *
 * @example
 * const batches = new Listeners<WriteBatchReport>();
 * const off = batches.on((b) => histogram.observe(b.commitMs));
 * batches.emit({ commands: 3, commitMs: 1.2 });
 */
export class Listeners<T> {
  readonly #listeners = new Set<(event: T) => void>();

  on(listener: (event: T) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(event: T): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // See the class comment.
      }
    }
  }
}
