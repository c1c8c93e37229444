import type { ChannelCredentials, ChannelOptions } from "@grpc/grpc-js";
import type { RetryOptions } from "./retry-policy.js";
import type { ClientTlsOptions } from "./tls-credentials.js";

/**
 * Options for `new HexclaveClient(...)`.
 *
 * @example
 * const options: HexclaveClientOptions = { address: "127.0.0.1:50051", token: process.env.HEXCLAVE_TOKEN! };
 */
export interface HexclaveClientOptions {
  /**
   * The server: `host:port`, or `unix:/path/to/socket` for a sidecar. Several
   * servers (on one shared database): an array of IP addresses with ports,
   * or one `dns:///name:port` whose records name them. Calls are spread
   * round robin over the servers that are up.
   */
  readonly address: string | readonly string[];
  /** A server access token (`hxk_…`) with read and/or write access to the stores you use. */
  readonly token: string;
  /**
   * TLS to the server (and mTLS with a client certificate). Needed across a
   * network: values are sealed either way, but the token is not. Default:
   * plaintext, meant for a server on loopback or a Unix socket.
   */
  readonly tls?: ClientTlsOptions | undefined;
  /**
   * grpc-js channel credentials, for what `tls` does not cover; instead of `tls`.
   */
  readonly credentials?: ChannelCredentials | undefined;
  /**
   * Deadline of each call, in milliseconds. Default 10,000. For `entries()`
   * and `rotateSecret()` it bounds the wait for each page, not the whole listing.
   */
  readonly timeoutMs?: number | undefined;
  /**
   * Retries of calls a restarting server or a lost connection cut off, within
   * each call's deadline: reads, listings and `ifVersion` writes after any
   * UNAVAILABLE; writes without `ifVersion` only when the server said nothing
   * was done (docs/client.md, "Restarts and retries"). `false` turns retries
   * off. Default `{ maxAttempts: 10, initialBackoffMs: 100, maxBackoffMs: 2000 }`.
   */
  readonly retry?: RetryOptions | false | undefined;
  /**
   * While no connection to a server can be made (it is starting, restarting,
   * or unreachable), calls wait for one, up to their deadline, instead of
   * failing at once; a call waiting so is never sent twice. `false` fails
   * them at once with UNAVAILABLE (reads and `ifVersion` writes are then
   * still retried within their deadline). Default true.
   */
  readonly waitForReady?: boolean | undefined;
  /**
   * Extra grpc-js channel options (keepalive, proxies, …). They override the
   * client's defaults (round robin, reconnecting within a second), except
   * that message compression stays off.
   */
  readonly channelOptions?: ChannelOptions | undefined;
  /**
   * The salt each store must have, by store id, in base64 (`store.salt`,
   * recorded while you trusted the server). Without it, the client pins the
   * salt it sees first per store, for its lifetime; with it, a server that
   * gives another salt is refused from the first call, in every process
   * (StoreSaltChangedError). Default: none, trust on first use.
   */
  readonly storeSalts?: Readonly<Record<string, string>> | undefined;
}

/**
 * The secret a call seals and opens with. Every store method takes these.
 *
 * @example
 * await store.getValue("gh:42", { secret: process.env.HEXCLAVE_SECRET!, previousSecrets: [oldSecret] });
 */
export interface SecretOptions {
  /**
   * Your secret for this store: it never leaves this process. At least 16
   * characters, 8 of them different, no repeated pattern, no whitespace at
   * either end; `hexclave secret generate` makes a strong one (and such
   * `hxs_` secrets skip the key stretching, ~0.5 s and 128 MiB).
   */
  readonly secret: string;
  /**
   * Secrets used before `secret`, during a rotation, newest first (at most 16).
   * Reads fall back to them in the same round trip; writes seal under `secret`
   * and remove the entry under these in the same server transaction.
   */
  readonly previousSecrets?: readonly string[] | undefined;
}

/**
 * Reads that return text (the default).
 *
 * @example
 * const token: string | null = await store.getValue("gh:42", { secret });
 */
export interface TextReadOptions extends SecretOptions {
  /** "text" (default): values come back as strings. */
  readonly as?: "text" | undefined;
}

/**
 * Reads that return bytes.
 *
 * @example
 * const key: Uint8Array | null = await store.getValue("signing-key", { secret, as: "bytes" });
 */
export interface BytesReadOptions extends SecretOptions {
  /** "bytes": values come back as Uint8Array, whatever type they were stored as. */
  readonly as: "bytes";
}

/**
 * Options of a read, text or bytes.
 *
 * @example
 * const opts: ReadOptions = { secret, as: "bytes" };
 */
export type ReadOptions = TextReadOptions | BytesReadOptions;

/**
 * Options of `setValue` and `deleteValue`.
 *
 * @example
 * await store.setValue("gh:42", token, { secret, ifVersion: 3 });
 */
export interface WriteOptions extends SecretOptions {
  /**
   * Check-and-set: write (or delete) only if the entry is at this version
   * (from `getEntry` or a previous `setValue`); 0 means "only if it does not
   * exist". Otherwise the call fails with VersionConflictError.
   */
  readonly ifVersion?: number | undefined;
}

/**
 * Options of `setValue`: those of every write, and an optional lifetime. An
 * expired entry reads as null, is never listed and counts nowhere; the
 * server deletes it soon after. The server's clock decides when it expires
 * (docs/operations.md, "Expiring entries").
 *
 * @example
 * await store.setValue(`gh-access:${user.id}`, accessToken, { secret, expiresIn: 3_600_000 });
 */
export interface SetOptions extends WriteOptions {
  /** Milliseconds from when the server receives the write. */
  readonly expiresIn?: number | undefined;
  /** An absolute time (judged by the server's clock); give this or `expiresIn`, not both. */
  readonly expiresAt?: Date | undefined;
  /**
   * The write time sealed with the value (what readers see as `writtenAt`).
   * Default: now. Give the original time when writing a value again rather
   * than a new one (restoring an export, copying between stores), so an old
   * value does not look fresh to a reader checking for rollbacks.
   */
  readonly writtenAt?: Date | undefined;
}

/**
 * Options of `entries`.
 *
 * @example
 * for await (const { key, value } of store.entries({ secret, pageSize: 500 })) console.log(key);
 */
export type EntriesOptions = ReadOptions & {
  /**
   * Entries per page the server streams: 1 to 1,000. Default 256, fewer for
   * stores of large values, so a page of full-size values fits in one message.
   */
  readonly pageSize?: number | undefined;
};

/**
 * What `setValue` resolves to.
 *
 * @example
 * const { version } = await store.setValue("gh:42", token, { secret });
 */
export interface SetValueResult {
  /** The entry's new version: store-wide and increasing, higher than any it had before. */
  readonly version: number;
}

/**
 * An entry's value with its version and write time, from `getEntry`.
 *
 * @example
 * const entry: StoredEntry<string> | null = await store.getEntry("gh:42", { secret });
 * if (entry && Date.now() - entry.writtenAt.getTime() > maxAgeMs) log.warn("stale or replayed value");
 */
export interface StoredEntry<V extends string | Uint8Array = string> {
  readonly value: V;
  /** Pass it back as `ifVersion` to write only if nobody wrote in between. */
  readonly version: number;
  /**
   * When the value was written, by the writer's clock, sealed with the value: the server
   * cannot change it, but it can hand back an older value of this key whole, which then
   * shows its older time (docs/sealing.md §9.2). Re-sealing by `rotateSecret` keeps it.
   */
  readonly writtenAt: Date;
  /** When the entry expires (set by the server from the write's lifetime); null: never. */
  readonly expiresAt: Date | null;
  /**
   * What was stored, sealed with the value: "text" (a string) or "bytes" (a
   * Uint8Array), whatever `as` the value is returned in.
   */
  readonly storedAs: "text" | "bytes";
}

/**
 * One entry yielded by `entries()`.
 *
 * @example
 * for await (const entry of store.entries({ secret })) backup.push(entry satisfies ListedEntry);
 */
export interface ListedEntry<V extends string | Uint8Array = string> extends StoredEntry<V> {
  /** The key name, recovered from the sealed value (the server only has its keyed hash). */
  readonly key: string;
}

/**
 * Options of `registerSecret`.
 *
 * @example
 * await store.registerSecret({ secret: newSecret, knownSecret: oldSecret });
 */
export interface RegisterSecretOptions {
  /** The secret to register. */
  readonly secret: string;
  /** A secret the store already knows; needed unless the store knows none yet. */
  readonly knownSecret?: string | undefined;
}

/**
 * Progress of a rotation.
 *
 * @example
 * const onProgress = ({ done, total }: RotationProgress) => console.log(`${done}/${total}`);
 */
export interface RotationProgress {
  /** Entries dealt with so far (re-sealed, or found superseded or deleted meanwhile). */
  readonly done: number;
  /** Entries under the old secret when the rotation started (grows if more arrive meanwhile). */
  readonly total: number;
}

/**
 * Options of `rotateSecret`.
 *
 * @example
 * await store.rotateSecret({ from: oldSecret, to: newSecret, onProgress: (p) => console.log(p) });
 */
export interface RotateSecretOptions {
  /** The secret the entries are sealed under now. */
  readonly from: string;
  /** The secret to re-seal them under. */
  readonly to: string;
  /** Called after each entry (and once at the start). */
  readonly onProgress?: ((progress: RotationProgress) => void) | undefined;
  /**
   * Retire `from` once no entry is sealed under it, so it can never be used
   * with the store again. Default true.
   */
  readonly retire?: boolean | undefined;
  /** Writes in flight at once: 1 to 64. Default 16. */
  readonly concurrency?: number | undefined;
}

/**
 * What a finished rotation did.
 *
 * @example
 * const { resealed, retired } = await store.rotateSecret({ from, to });
 */
export interface RotationResult {
  /** Entries under `from` when the rotation started. */
  readonly total: number;
  /** Entries dealt with. */
  readonly done: number;
  /** Entries re-sealed under `to` by this run. */
  readonly resealed: number;
  /** Entries already rewritten under `to` by someone else: their old copy was removed. */
  readonly superseded: number;
  /** Whether `from` is retired now. */
  readonly retired: boolean;
}
