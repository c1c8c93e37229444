import { Metadata, type ServiceError } from "@grpc/grpc-js";
import type { Entry as WireEntry, Store as WireStore } from "../../gen/hexclave/v1/types.js";
import type {
  BatchGetValuesRequest,
  DeleteValueRequest,
  GetValueRequest,
  ListEntriesRequest,
  SetValueRequest,
  VaultServiceClient,
} from "../../gen/hexclave/v1/vault_service.js";
import { HexclaveError } from "./hexclave-error.js";
import { errorFromStatus } from "./status-to-error.js";
import { unaryCall } from "./unary-call.js";

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
 * The data-plane RPCs as promises: the bearer token on every call, the
 * per-call deadline, typed errors. Nothing here sees a secret or plaintext.
 *
 * @example
 * const rpc = new VaultRpc(new VaultServiceClient(address, credentials.createInsecure()), token, 10_000);
 * const store = await rpc.describeStore("oauth-tokens");
 */
export class VaultRpc {
  readonly #client: VaultServiceClient;
  readonly #authorization: string;
  readonly #timeoutMs: number;
  #closed = false;

  constructor(client: VaultServiceClient, token: string, timeoutMs: number) {
    this.#client = client;
    this.#authorization = `Bearer ${token}`;
    this.#timeoutMs = timeoutMs;
  }

  /** Whether {@link VaultRpc.close} has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The per-call deadline, in milliseconds. */
  get timeoutMs(): number {
    return this.#timeoutMs;
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
    const res = await this.#unary(this.#client.describeStore, { storeId });
    return requireStore(res.store);
  }

  async getValue(request: GetValueRequest): Promise<Entry | undefined> {
    const { entry } = await this.#unary(this.#client.getValue, request);
    return entry === undefined ? undefined : entryFromWire(entry);
  }

  async setValue(request: WithVersion<SetValueRequest>): Promise<number> {
    const res = await this.#unary(this.#client.setValue, withWireVersion(request));
    return safeNumber(res.version, "version");
  }

  async deleteValue(request: WithVersion<DeleteValueRequest>): Promise<boolean> {
    return (await this.#unary(this.#client.deleteValue, withWireVersion(request))).deleted;
  }

  async batchGetValues(request: BatchGetValuesRequest): Promise<Entry[]> {
    return (await this.#unary(this.#client.batchGetValues, request)).entries.map(entryFromWire);
  }

  async registerSecret(
    storeId: string,
    secretFingerprint: Buffer,
    knownSecretFingerprint: Buffer,
  ): Promise<Store> {
    const res = await this.#unary(this.#client.registerSecret, {
      storeId,
      secretFingerprint,
      knownSecretFingerprint,
    });
    return requireStore(res.store);
  }

  async retireSecret(storeId: string, secretFingerprint: Buffer): Promise<Store> {
    const res = await this.#unary(this.#client.retireSecret, { storeId, secretFingerprint });
    return requireStore(res.store);
  }

  /**
   * Streams ListEntries pages. There is no deadline on the whole listing (a
   * large store takes as long as it takes); instead each page must arrive
   * within the per-call timeout of being asked for. Ending the loop early
   * cancels the call.
   *
   * @throws HexclaveError mapped from the stream's status; DEADLINE_EXCEEDED if a page is late.
   */
  async *listEntries(
    request: Omit<ListEntriesRequest, "pageSize"> & { readonly pageSize: number },
  ): AsyncGenerator<Entry[]> {
    this.assertOpen();
    const wire = { ...request, pageSize: BigInt(request.pageSize) };
    const call = this.#client.listEntries(wire, this.#metadata());
    // The iterator below reports errors; this keeps a late one (after a cancel) from going uncaught.
    call.on("error", () => {});
    const pages = call[Symbol.asyncIterator]() as AsyncIterator<{ entries: WireEntry[] }>;
    let finished = false;
    try {
      while (true) {
        const next = await withIdleTimeout(pages.next(), this.#timeoutMs, () => call.cancel());
        if (next.done === true) {
          finished = true;
          return;
        }
        yield next.value.entries.map(entryFromWire);
      }
    } catch (error) {
      finished = true;
      throw isServiceError(error) ? errorFromStatus(error) : error;
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
  ): Promise<Res> {
    this.assertOpen();
    return unaryCall(
      method.bind(this.#client) as Parameters<typeof unaryCall<Req, Res>>[0],
      request,
      this.#metadata(),
      this.#timeoutMs,
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
  timeoutMs: number,
  cancel: () => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      cancel();
      reject(
        new HexclaveError(
          "DEADLINE_EXCEEDED",
          `the server sent no page of entries for ${timeoutMs} ms: check the server, or raise "timeoutMs"`,
        ),
      );
    }, timeoutMs);
  });
  return Promise.race([pending, late]).finally(() => clearTimeout(timer));
}
