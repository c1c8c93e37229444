/**
 * `hexclave`: the client SDK. Values are sealed in your process with a
 * secret that never leaves it; the server stores opaque blobs under opaque ids.
 *
 * @example
 * import { HexclaveClient } from "hexclave";
 * const hexclave = new HexclaveClient({ address: "127.0.0.1:50051", token: process.env.HEXCLAVE_TOKEN! });
 * const store = await hexclave.getDataVaultStore("oauth-tokens");
 * await store.setValue(`gh:${user.id}`, refreshToken, { secret });
 * const token = await store.getValue(`gh:${user.id}`, { secret });
 *
 * This entry point must not pull in the server's dependencies (better-sqlite3,
 * kysely, pino): test/client/client-entry-does-not-pull-server-deps.test.ts.
 */

export { generateSecret } from "../crypto/secret.js";
export type {
  BytesReadOptions,
  EntriesOptions,
  HexclaveClientOptions,
  ListedEntry,
  ReadOptions,
  RegisterSecretOptions,
  RotateSecretOptions,
  RotationProgress,
  RotationResult,
  SecretOptions,
  SetOptions,
  SetValueResult,
  StoredEntry,
  TextReadOptions,
  WriteOptions,
} from "./client-options.js";
export type { DataVaultStore } from "./data-vault-store.js";
export { HexclaveClient } from "./hexclave-client.js";
export {
  DECRYPTION_FAILED_MESSAGE,
  DecryptionError,
  HexclaveError,
  type HexclaveErrorCode,
  PermissionDeniedError,
  StoreNotFoundError,
  StoreSaltChangedError,
  UnauthenticatedError,
  UnavailableError,
  UnknownSecretError,
  ValueTooLargeError,
  VersionConflictError,
  WeakSecretError,
} from "./hexclave-error.js";
export type { RetryOptions } from "./retry-policy.js";
export type { ClientTlsOptions } from "./tls-credentials.js";
