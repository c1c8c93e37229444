import { type ChannelOptions, credentials as grpcCredentials } from "@grpc/grpc-js";
import { VaultServiceClient } from "../../gen/hexclave/v1/vault_service.js";
import { STORE_SALT_LENGTH } from "../crypto/format-v1.js";
import { channelTarget, ROUND_ROBIN_SERVICE_CONFIG } from "./channel-target.js";
import { assertOptions, assertPositiveInt, assertStoreId } from "./client-assertions.js";
import type { HexclaveClientOptions } from "./client-options.js";
import { DataVaultStore } from "./data-vault-store.js";
import { HexclaveError } from "./hexclave-error.js";
import { KeyCache } from "./key-cache.js";
import { retryPolicy } from "./retry-policy.js";
import { StoreContext } from "./store-context.js";
import { StoreSaltPins } from "./store-salt-pins.js";
import { tlsCredentials } from "./tls-credentials.js";
import { guard } from "./to-hexclave-error.js";
import { VaultRpc } from "./vault-rpc.js";
import { MAX_RECEIVE_MESSAGE_BYTES } from "./wire-limits.js";

/** Per-call deadline unless the caller sets `timeoutMs`. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Largest deadline Node's timers can hold. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
/** Metadata values must be printable ASCII; a token with a newline would be a header injection. */
const TOKEN_PATTERN = /^[\x21-\x7e]+$/;

/**
 * A connection to a Hexclave server, or to several sharing one database
 * (round robin). Values are sealed and opened in this process with a secret
 * that never leaves it; the server stores opaque blobs. Calls wait for a
 * connection and are retried across restarts when a second try cannot apply
 * twice (retry-policy.ts). Make one per process and share it; `close()` it at
 * shutdown.
 *
 * @throws HexclaveError INVALID_ARGUMENT from the constructor for a missing or malformed address, a malformed token, or bad retry settings.
 * @example
 * const hexclave = new HexclaveClient({ address: "127.0.0.1:50051", token: process.env.HEXCLAVE_TOKEN! });
 * const store = await hexclave.getDataVaultStore("oauth-tokens");
 * await store.setValue(`gh:${user.id}`, refreshToken, { secret });
 * const token = await store.getValue(`gh:${user.id}`, { secret }); // string | null
 * hexclave.close();
 * const balanced = new HexclaveClient({ address: "dns:///hexclave.internal:50051", token, retry: { maxAttempts: 5 } });
 */
export class HexclaveClient {
  readonly #rpc: VaultRpc;
  readonly #keyCache = new KeyCache();
  readonly #saltPins: StoreSaltPins;

  constructor(options: HexclaveClientOptions) {
    assertOptions(options);
    if (typeof options.token !== "string" || !TOKEN_PATTERN.test(options.token)) {
      const got =
        typeof options.token !== "string"
          ? `got ${typeof options.token}`
          : options.token === ""
            ? "got an empty string"
            : "got one with spaces or control characters";
      throw new HexclaveError(
        "INVALID_ARGUMENT",
        `"token" must be a non-empty string of printable ASCII (an "hxk_…" token from "hexclave tokens create"), ${got}`,
      );
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    assertPositiveInt("timeoutMs", timeoutMs, MAX_TIMEOUT_MS);
    const retry = retryPolicy(options.retry);
    const waitForReady = options.waitForReady ?? true;
    if (typeof waitForReady !== "boolean") {
      throw new HexclaveError("INVALID_ARGUMENT", `"waitForReady" must be true or false`);
    }
    const { target, shown } = channelTarget(options.address);
    this.#saltPins = new StoreSaltPins(options.storeSalts);
    const channelOptions: ChannelOptions = {
      "grpc.max_receive_message_length": MAX_RECEIVE_MESSAGE_BYTES,
      "grpc.service_config": ROUND_ROBIN_SERVICE_CONFIG,
      // grpc-js waits 1 s, then up to 120 s, between attempts to reconnect; a server that
      // restarts is back within a second or two, and calls waiting for it should see it then.
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 1000,
      ...options.channelOptions,
      // Compression stays off: values are sealed (they do not compress), and a
      // compressed stream would hide from audits what actually crosses the wire.
      "grpc.default_compression_algorithm": 0,
    };
    if (options.tls !== undefined && options.credentials !== undefined) {
      throw new HexclaveError(
        "INVALID_ARGUMENT",
        'give "tls" or "credentials", not both: "tls" makes the credentials',
      );
    }
    const credentials =
      options.credentials ??
      (options.tls === undefined ? grpcCredentials.createInsecure() : tlsCredentials(options.tls));
    if (options.tls?.serverName !== undefined) {
      channelOptions["grpc.ssl_target_name_override"] = options.tls.serverName;
      channelOptions["grpc.default_authority"] = options.tls.serverName;
    }
    let client: VaultServiceClient;
    try {
      client = new VaultServiceClient(target, credentials, channelOptions);
    } catch (error) {
      throw new HexclaveError(
        "INVALID_ARGUMENT",
        `the channel could not be created (${(error as Error).message}): check "address", "credentials" (from @grpc/grpc-js) and "channelOptions"`,
        { cause: error },
      );
    }
    this.#rpc = new VaultRpc(client, {
      token: options.token,
      timeoutMs,
      retry,
      waitForReady,
      address: shown,
    });
  }

  /**
   * Opens a store: one DescribeStore call fetches its salt and limits, which
   * the returned object keeps. Call it once per store and reuse the result.
   * The salt must be the one this client pinned for the store: configured in
   * `storeSalts`, or else the first it saw (docs/client.md).
   *
   * @throws StoreSaltChangedError if the server gives another salt than the pinned one.
   * @throws StoreNotFoundError if the store does not exist (an admin creates it: `hexclave stores create <id>`).
   * @throws PermissionDeniedError if the token has no access to the store.
   * @throws UnauthenticatedError, UnavailableError, HexclaveError (DEADLINE_EXCEEDED, CLIENT_CLOSED, INVALID_ARGUMENT).
   * @example
   * const store = await hexclave.getDataVaultStore("oauth-tokens");
   */
  getDataVaultStore(id: string): Promise<DataVaultStore> {
    return guard(async () => {
      assertStoreId(id);
      const store = await this.#rpc.describeStore(id);
      if (store.salt.length !== STORE_SALT_LENGTH || store.id !== id) {
        throw new HexclaveError(
          "INTERNAL",
          `the server described store "${id}" with a malformed salt or another id: is the address a Hexclave server?`,
        );
      }
      this.#saltPins.check(id, store.salt);
      const context = new StoreContext(
        { storeId: id, salt: store.salt, maxValueBytes: store.maxValueBytes },
        this.#rpc,
        this.#keyCache,
      );
      return new DataVaultStore(context);
    });
  }

  /**
   * Closes the connection and zeroes the derived keys. Calls made afterwards,
   * on this client or its stores, fail with CLIENT_CLOSED. Idempotent.
   *
   * @example
   * process.on("SIGTERM", () => hexclave.close());
   */
  close(): void {
    this.#rpc.close();
    this.#keyCache.clear();
  }
}
