/**
 * Runs `work` over `items` with at most `limit` at once. On the first failure
 * no new item starts, and it rejects with that failure only once the running
 * ones have settled, so nothing is still being written after it reported.
 *
 * @throws the first error `work` threw.
 * @example
 * await forEachBounded(entries, 16, (entry) => store.setValue(entry.key, entry.value, { secret }));
 */
export async function forEachBounded<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
}
