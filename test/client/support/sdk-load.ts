import type { DataVaultStore, HexclaveError } from "../../../src/client/index.js";

/**
 * A steady stream of SDK calls on one store — reads, `ifVersion` writes and
 * plain writes, each kind on keys of its own — with a ledger of what was
 * acknowledged, for tests that restart or kill servers underneath it.
 */

/** The kinds of call the load makes. */
export type CallKind = "read" | "checked" | "plain";

/** One call that did not succeed. */
export interface SdkFailure {
  readonly kind: CallKind;
  readonly code: string;
  readonly message: string;
  readonly mayHaveBeenApplied: boolean | undefined;
}

/** A running load. */
export interface SdkLoad {
  /** Acknowledged calls per kind so far. */
  readonly done: Readonly<Record<CallKind, number>>;
  /** Every version a write was acknowledged with. */
  readonly versions: readonly number[];
  readonly failures: readonly SdkFailure[];
  /** Resolves once `count` more calls (any kind) have been acknowledged. */
  progress(count: number): Promise<void>;
  /** Stops starting calls and waits for the ones in flight. */
  stop(): Promise<void>;
}

/** Values the read keys hold; set by {@link seedReads}. */
export const readValue = (i: number): string => `read-${i}`;

/** Writes the keys readers read; returns their versions. */
export async function seedReads(
  store: DataVaultStore,
  secret: string,
  count: number,
): Promise<number[]> {
  const versions: number[] = [];
  for (let i = 0; i < count; i++) {
    versions.push((await store.setValue(`r${i}`, readValue(i), { secret })).version);
  }
  return versions;
}

/**
 * Starts `workers` loops of each kind. Readers check every value they read;
 * each checked writer owns one key, so a VERSION_CONFLICT would be a failure.
 *
 * @example
 * const load = startSdkLoad(store, secret, { workers: 3, readKeys: 10 });
 * await load.progress(50);
 */
export function startSdkLoad(
  store: DataVaultStore,
  secret: string,
  options: { workers: number; readKeys: number },
): SdkLoad {
  const done: Record<CallKind, number> = { read: 0, checked: 0, plain: 0 };
  const versions: number[] = [];
  const failures: SdkFailure[] = [];
  const waiters: { target: number; resolve: () => void }[] = [];
  let stopped = false;
  const total = (): number => done.read + done.checked + done.plain;

  const acknowledged = (kind: CallKind): void => {
    done[kind] += 1;
    for (const w of waiters.filter((w) => total() >= w.target)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  const failed = (kind: CallKind, error: unknown): void => {
    const e = error as HexclaveError & { mayHaveBeenApplied?: boolean };
    failures.push({
      kind,
      code: String(e.code),
      message: e.message,
      mayHaveBeenApplied: e.mayHaveBeenApplied,
    });
  };

  const loop = async (kind: CallKind, worker: number): Promise<void> => {
    let n = 0;
    let version: number | undefined;
    while (!stopped) {
      n += 1;
      try {
        if (kind === "read") {
          const i = (worker * 7 + n) % options.readKeys;
          const value = await store.getValue(`r${i}`, { secret });
          if (value !== readValue(i)) throw new Error(`r${i} read back as ${String(value)}`);
        } else if (kind === "checked") {
          const key = `c${worker}`;
          version ??= (await store.getEntry(key, { secret }))?.version ?? 0;
          version = (await store.setValue(key, `c${worker}-${n}`, { secret, ifVersion: version }))
            .version;
          versions.push(version);
        } else {
          versions.push(
            (await store.setValue(`p${worker}`, `p${worker}-${n}`, { secret })).version,
          );
        }
        acknowledged(kind);
      } catch (error) {
        failed(kind, error);
        version = undefined;
      }
    }
  };

  const running = (["read", "checked", "plain"] as const).flatMap((kind) =>
    Array.from({ length: options.workers }, (_, w) => loop(kind, w)),
  );
  return {
    done,
    versions,
    failures,
    progress(count) {
      const target = total() + count;
      return new Promise((resolve) => waiters.push({ target, resolve }));
    },
    async stop() {
      stopped = true;
      await Promise.all(running);
    },
  };
}
