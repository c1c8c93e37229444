import { connectivityState, Metadata, type ServiceError } from "@grpc/grpc-js";
import type { Entry as WireEntry, Store as WireStore } from "../../gen/hexclave/v1/types.js";
import type {
  BatchGetValuesRequest,
  DeleteValueRequest,
  GetValueRequest,
  ListEntriesRequest,
  SetValueRequest,
  VaultServiceClient,
} from "../../gen/hexclave/v1/vault_service.js";
import { type SettleConflict, withRetries } from "./call-attempts.js";
import { HexclaveError, UnavailableError } from "./hexclave-error.js";
import { type CallSafety, markUnsent, mayRetry, type RetryPolicy } from "./retry-policy.js";
import { errorFromStatus } from "./status-to-error.js";
import { type UnaryMethod, unaryCall } from "./unary-call.js";

/**
 * An entry as the client uses it: the wire's uint64 version as a number.
 * Versions count writes to one store, so they stay far below 2^53.
 */
export type Entry = Omit<WireEntry, "version"> & { readonly version: number };

/** A check-and-set version as the client passes it: a number, or unset. */
type WithVersion<R extends { expectedVersion?: bigint | undefined }> = Omit<
  R,
  "expectedVersion"
> & {
  readonly expectedVersion?: number | undefined;
};

/** A store as the client uses it: the wire's uint64 counts as numbers. */
export type Store = Omit<WireStore, "entryCount" | "totalValueBytes" | "secrets"> & {
  readonly entryCount: number;
  readonly totalValueBytes: number;
  readonly secrets: readonly {
    readonly fingerprint: Buffer;
    readonly entryCount: number;
    readonly registerTime: Date | undefined;
  }[];
};

/**
 * How a VaultRpc calls: its token, deadline, retries and channel behaviour.
 *
 * @example
 * const settings: RpcSettings = { token, timeoutMs: 10_000, retry: retryPolicy(undefined), waitForReady: true, address };
 */
export interface RpcSettings {
  readonly token: string;
  /** Each call's deadline, every try included; for listings, the wait for each page. */
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly waitForReady: boolean;
  /** The address as the caller gave it, for messages. */
  readonly address: string;
}

/**
 * The data-plane RPCs as promises: the bearer token on every call, the
 * per-call deadline, retries by what each call may do to the data
 * (retry-policy.ts), typed errors. Nothing here sees a secret or plaintext.
 *
 * @example
 * const rpc = new VaultRpc(new VaultServiceClient(target, credentials.createInsecure()), settings);
 * const store = await rpc.describeStore("oauth-tokens");
 */
export class VaultRpc {
  readonly #client: VaultServiceClient;
  readonly #settings: RpcSettings;
  readonly #authorization: string;
  #closed = false;

  constructor(client: VaultServiceClient, settings: RpcSettings) {
    this.#client = client;
    this.#settings = settings;
    this.#authorization = `Bearer ${settings.token}`;
  }

  /** Whether {@link VaultRpc.close} has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The per-call deadline, in milliseconds. */
  get timeoutMs(): number {
    return this.#settings.timeoutMs;
  }

  /** Closes the channel; later calls fail with CLIENT_CLOSED. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.close();
  }

  /** @throws HexclaveError CLIENT_CLOSED once the client is closed. */
  assertOpen(): void {
    if (this.#closed) {
      throw new HexclaveError(
        "CLIENT_CLOSED",
        "this HexclaveClient was closed: create a new one (and close it only at shutdown)",
      );
    }
  }

  async describeStore(storeId: string): Promise<Store> {
    const res = await this.#unary(this.#client.describeStore, { storeId }, "read");
    return requireStore(res.store);
  }

  async getValue(request: GetValueRequest): Promise<Entry | undefined> {
    const { entry } = await this.#unary(this.#client.getValue, request, "read");
    return entry === undefined ? undefined : entryFromWire(entry);
  }

  /**
   * A check-and-set (`expectedVersion`) is retried like a read: a second try
   * cannot apply twice. If a try was cut off and a later one finds
   * VERSION_CONFLICT, the conflict may be the first try's own write: the
   * entry is read back, and if it holds exactly the envelope this call sent
   * (sealing makes every envelope unique: a fresh nonce and one-time key),
   * the write was applied and its version is returned.
   */
  async setValue(request: WithVersion<SetValueRequest>): Promise<number> {
    const checked = request.expectedVersion !== undefined;
    const res = await this.#unary(
      this.#client.setValue,
      withWireVersion(request),
      checked ? "checked" : "unchecked",
      async () => {
        const now = await this.getValue({
          storeId: request.storeId,
          key: request.key,
          previousKeys: [],
        });
        if (now === undefined || !now.sealedValue.equals(request.sealedValue)) return undefined;
        return { version: BigInt(now.version) };
      },
    );
    return safeNumber(res.version, "version");
  }

  /**
   * A delete with `expectedVersion` is retried; if a try was cut off and a
   * later one finds the entry gone (VERSION_CONFLICT at version 0), what was
   * asked is done — whether by this call or another cannot be told — and
   * it resolves true. Without `expectedVersion` it is not resent once it may
   * have reached the server: the entry could have been written again since.
   */
  async deleteValue(request: WithVersion<DeleteValueRequest>): Promise<boolean> {
    const checked = request.expectedVersion !== undefined;
    const res = await this.#unary(
      this.#client.deleteValue,
      withWireVersion(request),
      checked ? "checked" : "unchecked",
      async (conflict) =>
        conflict.metadata.current_version === "0" ? { deleted: true } : undefined,
    );
    return res.deleted;
  }

  async batchGetValues(request: BatchGetValuesRequest): Promise<Entry[]> {
    const res = await this.#unary(this.#client.batchGetValues, request, "read");
    return res.entries.map(entryFromWire);
  }

  async registerSecret(
    storeId: string,
    secretFingerprint: Buffer,
    knownSecretFingerprint: Buffer,
  ): Promise<Store> {
    const res = await this.#unary(
      this.#client.registerSecret,
      { storeId, secretFingerprint, knownSecretFingerprint },
      "read",
    );
    return requireStore(res.store);
  }

  async retireSecret(storeId: string, secretFingerprint: Buffer): Promise<Store> {
    const res = await this.#unary(
      this.#client.retireSecret,
      { storeId, secretFingerprint },
      "read",
    );
    return requireStore(res.store);
  }

  /**
   * Streams ListEntries pages. There is no deadline on the whole listing (a
   * large store takes as long as it takes); instead each page must arrive
   * within the per-call timeout of being asked for. A stream cut off by
   * UNAVAILABLE is opened again after the last key id received (listings
   * run in key id order), with the retry policy's tries and backoff counted
   * from the last page that arrived. Ending the loop early cancels the call.
   *
   * @throws HexclaveError mapped from the stream's status; DEADLINE_EXCEEDED if a page is late.
   */
  async *listEntries(
    request: Omit<ListEntriesRequest, "pageSize"> & { readonly pageSize: number },
  ): AsyncGenerator<Entry[]> {
    let after = request.startAfterKeyId;
    for (let tries = 1; ; tries++) {
      this.assertOpen();
      const wire = { ...request, startAfterKeyId: after, pageSize: BigInt(request.pageSize) };
      try {
        for await (const page of this.#pages(wire)) {
          tries = 1;
          const last = page.at(-1);
          if (last !== undefined) after = last.keyId;
          yield page;
        }
        return;
      } catch (error) {
        const typed = error as HexclaveError;
        const delay = this.#settings.retry.backoffMs(tries);
        if (!mayRetry("read", typed) || tries >= this.#settings.retry.maxAttempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /** One ListEntries stream, as pages. */
  async *#pages(wire: ListEntriesRequest): AsyncGenerator<Entry[]> {
    const metadata = this.#metadata();
    metadata.setOptions({ waitForReady: this.#settings.waitForReady });
    const call = this.#client.listEntries(wire, metadata);
    // The iterator below reports errors; this keeps a late one (after a cancel) from going uncaught.
    call.on("error", () => {});
    const pages = call[Symbol.asyncIterator]() as AsyncIterator<{ entries: WireEntry[] }>;
    let finished = false;
    try {
      while (true) {
        const next = await withIdleTimeout(pages.next(), this.#settings, () => call.cancel());
        if (next.done === true) {
          finished = true;
          return;
        }
        yield next.value.entries.map(entryFromWire);
      }
    } catch (error) {
      finished = true;
      throw isServiceError(error) ? errorFromStatus(error, this.#settings.address) : error;
    } finally {
      if (!finished) {
        call.cancel();
        await pages.return?.().catch(() => {});
      }
    }
  }

  #metadata(): Metadata {
    const metadata = new Metadata();
    metadata.set("authorization", this.#authorization);
    return metadata;
  }

  #unary<Req, Res>(
    method: (
      request: Req,
      metadata: Metadata,
      options: object,
      callback: (error: ServiceError | null, response: Res) => void,
    ) => unknown,
    request: Req,
    safety: CallSafety,
    settleConflict?: SettleConflict<Res>,
  ): Promise<Res> {
    this.assertOpen();
    const { timeoutMs, retry, waitForReady, address } = this.#settings;
    const bound = method.bind(this.#client) as UnaryMethod<Req, Res>;
    const budget = {
      policy: retry,
      safety,
      deadline: Date.now() + timeoutMs,
      closed: () => this.#closed,
    };
    return withRetries(
      budget,
      (deadline) =>
        unaryCall(bound, request, this.#metadata(), { deadline, waitForReady, address }).catch(
          (error: unknown) => {
            throw this.#neverConnected(error) ?? error;
          },
        ),
      settleConflict,
    );
  }

  /**
   * A call that waited for a connection until its deadline never got one:
   * say so (UNAVAILABLE) rather than that the server was slow.
   */
  #neverConnected(error: unknown): HexclaveError | undefined {
    if (!this.#settings.waitForReady) return undefined;
    if (!(error instanceof HexclaveError) || error.code !== "DEADLINE_EXCEEDED") return undefined;
    if (this.#client.getChannel().getConnectivityState(false) === connectivityState.READY) {
      return undefined;
    }
    // Waiting for a connection, it was never sent (a call sent on a connection that is then
    // lost ends UNAVAILABLE at once, not at its deadline).
    return markUnsent(
      new UnavailableError(
        `cannot reach the Hexclave server at ${this.#settings.address}: no connection within ${this.#settings.timeoutMs} ms; check the address and that the server is running`,
        { cause: error.cause },
      ),
    );
  }
}

function requireStore(store: WireStore | undefined): Store {
  if (store === undefined) {
    throw new HexclaveError("INTERNAL", "the server answered without the store: is it Hexclave?");
  }
  return {
    ...store,
    entryCount: safeNumber(store.entryCount, "entry_count"),
    totalValueBytes: safeNumber(store.totalValueBytes, "total_value_bytes"),
    secrets: store.secrets.map((s) => ({
      fingerprint: s.fingerprint,
      entryCount: safeNumber(s.entryCount, "secrets.entry_count"),
      registerTime: s.registerTime,
    })),
  };
}

/** A client request with its check-and-set version as the wire's uint64. */
function withWireVersion<R extends { expectedVersion?: bigint | undefined }>(
  request: WithVersion<R>,
): R {
  const { expectedVersion, ...rest } = request;
  return (
    expectedVersion === undefined ? rest : { ...rest, expectedVersion: BigInt(expectedVersion) }
  ) as R;
}

function entryFromWire(entry: WireEntry): Entry {
  return { ...entry, version: safeNumber(entry.version, "version") };
}

/** A uint64 from the server as a number; a Hexclave server never sends one past 2^53 − 1. */
function safeNumber(value: bigint, field: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new HexclaveError(
      "INTERNAL",
      `the server sent "${field}" = ${value}, beyond what a Hexclave server sends: is the address a Hexclave server?`,
    );
  }
  return Number(value);
}

function isServiceError(error: unknown): error is ServiceError {
  return (
    error instanceof Error &&
    typeof (error as Partial<ServiceError>).code === "number" &&
    "metadata" in error
  );
}

function withIdleTimeout<T>(
  pending: Promise<T>,
  { timeoutMs, address }: RpcSettings,
  cancel: () => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      cancel();
      reject(
        new HexclaveError(
          "DEADLINE_EXCEEDED",
          `the Hexclave server at ${address} sent no page of entries for ${timeoutMs} ms: check the server, or raise "timeoutMs"`,
        ),
      );
    }, timeoutMs);
  });
  return Promise.race([pending, late]).finally(() => clearTimeout(timer));
}
