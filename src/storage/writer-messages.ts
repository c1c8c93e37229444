import type { StorageCondition, WriteBatchReport } from "../vault/storage-port.js";
import { isVaultError, VaultError, type VaultErrorReason } from "../vault/vault-error.js";
import type { WriteCommand } from "../vault/write-commands.js";

/** What the calls' thread posts to the writer thread. */
export type ToWriter =
  | { readonly type: "run"; readonly jobs: readonly WriterJob[] }
  | { readonly type: "close" };

/** One job: a command, or a scrub (not ordered with the commands around it: see WriteExecutor.scrub). */
export type WriterJob =
  | { readonly id: number; readonly command: WriteCommand }
  | { readonly id: number; readonly scrub: true };

/** What the writer thread posts back. */
export type FromWriter =
  | { readonly type: "ready" }
  | {
      readonly type: "results";
      readonly results: readonly WriterResult[];
      /** The transactions committed since the last message, for metrics. */
      readonly batches: readonly WriteBatchReport[];
    }
  | {
      readonly type: "condition";
      readonly condition: StorageCondition;
      readonly cause: SerializedError | undefined;
    }
  | { readonly type: "closed" };

/** A job's outcome. */
export type WriterResult =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: SerializedError };

/** An error crossing threads: a VaultError keeps its reason; anything else only its text, for the log. */
export type SerializedError =
  | {
      readonly vault: true;
      readonly reason: VaultErrorReason;
      readonly message: string;
      readonly metadata: Readonly<Record<string, string>>;
    }
  | { readonly vault: false; readonly message: string; readonly stack: string | undefined };

/** Flattens an error for postMessage. */
export function serializeError(error: unknown): SerializedError {
  if (isVaultError(error)) {
    return {
      vault: true,
      reason: error.reason,
      message: error.message,
      metadata: { ...error.metadata },
    };
  }
  const e = error instanceof Error ? error : new Error(String(error));
  return { vault: false, message: e.message, stack: e.stack };
}

/** Rebuilds an error posted by the other thread. */
export function deserializeError(error: SerializedError): Error {
  if (error.vault) return new VaultError(error.reason, error.message, { metadata: error.metadata });
  const e = new Error(`writer thread: ${error.message}`);
  if (error.stack !== undefined) e.stack = error.stack;
  return e;
}

/**
 * Copies every byte view that is a window onto a larger buffer into one of
 * its own, through plain objects and arrays. postMessage copies a view's
 * whole backing buffer: a 32-byte key id sliced from Node's 8 KiB pool, or
 * from a gRPC message, would otherwise cross as kilobytes.
 */
export function exactBuffers<T>(value: T): T {
  if (value instanceof Uint8Array) {
    return (value.byteLength === value.buffer.byteLength ? value : new Uint8Array(value)) as T;
  }
  if (Array.isArray(value)) return value.map(exactBuffers) as T;
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = exactBuffers(v);
    return out as T;
  }
  return value;
}

/**
 * Turns the Uint8Arrays that postMessage makes of Buffers back into Buffers
 * (views, no copy), through plain objects and arrays.
 */
export function reviveBuffers<T>(value: T): T {
  if (value instanceof Uint8Array) {
    return (
      Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength)
    ) as T;
  }
  if (Array.isArray(value)) return value.map(reviveBuffers) as T;
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = reviveBuffers(v);
    return out as T;
  }
  return value;
}
