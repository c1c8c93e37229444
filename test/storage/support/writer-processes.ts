import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import type { VaultErrorReason } from "../../../src/vault/vault-error.js";
import type { SetValueCommand, WriteCommand } from "../../../src/vault/write-commands.js";

/**
 * Writer processes for the storage contract: each a child running the built
 * adapters (contract-writer.mjs) on the test's database, so concurrency is
 * tested across processes, as several `hexclave serve` share one database.
 */

const CHILD = fileURLToPath(new URL("./contract-writer.mjs", import.meta.url));

/** What a write came to: its result, or the reason it was refused. */
export type Outcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly reason: VaultErrorReason | undefined; readonly message: string };

/** One check-and-set attempt: won (the new version) or lost (why). */
export type CasAttempt =
  | { readonly expected: number; readonly version: number }
  | { readonly expected: number; readonly reason: string };

/** Where a writer opens its storage. */
export interface WriterTarget {
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  readonly masterKey: Buffer;
  /** SQLite: the group every process on the file belongs to. */
  readonly groupId: string;
}

/** One writer process. */
export interface WriterProcess {
  readonly pid: number;
  open(target: WriterTarget): Promise<void>;
  /** Runs each chain's commands in order, the chains at once; outcomes per chain. */
  chains(chains: readonly (readonly WriteCommand[])[]): Promise<Outcome[][]>;
  /** `loops` concurrent read-then-check-and-set loops of `attempts` each on one entry. */
  casLoop(command: SetValueCommand, attempts: number, loops: number): Promise<CasAttempt[]>;
  close(): Promise<void>;
  /** Closes its storage and ends the process. */
  exit(): Promise<void>;
}

/**
 * Forks `count` writer processes and resolves once each is ready.
 *
 * @example
 * const writers = await startWriters(3);
 * await Promise.all(writers.map((w) => w.open(target)));
 */
export async function startWriters(count: number): Promise<WriterProcess[]> {
  return Promise.all(Array.from({ length: count }, () => startWriter()));
}

async function startWriter(): Promise<WriterProcess> {
  const child = fork(CHILD, [], {
    serialization: "advanced",
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let ready: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    ready = resolve;
  });
  child.on(
    "message",
    (message: { ready?: true; id: number; ok: boolean; value?: unknown; error?: string }) => {
      if (message.ready === true) return ready();
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (message.ok) waiter?.resolve(message.value);
      else waiter?.reject(new Error(`writer ${child.pid}: ${message.error}`));
    },
  );
  const exited = once(child, "exit");
  void exited.then(() => {
    for (const waiter of pending.values()) {
      waiter.reject(new Error(`writer ${child.pid} exited`));
    }
    pending.clear();
  });
  await Promise.race([
    started,
    exited.then(() => {
      throw new Error("a writer process exited before it was ready");
    }),
  ]);
  const ask = <T>(message: Record<string, unknown>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ ...message, id });
    });
  return {
    pid: child.pid as number,
    open: (target) => ask({ type: "open", ...target }),
    chains: (chains) => ask({ type: "chains", chains }),
    casLoop: (command, attempts, loops) => ask({ type: "casLoop", command, attempts, loops }),
    close: () => ask({ type: "close" }),
    exit: () => stopChild(child, exited),
  };
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  // Disconnecting tells the child to close its storage and exit; a stuck one is killed.
  child.disconnect();
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}
