import {
  HealthCheckRequest,
  HealthListRequest,
  HealthService,
} from "../../gen/grpc/health/v1/health.js";
import {
  ServerReflectionService as ReflectionV1,
  ServerReflectionRequest,
} from "../../gen/grpc/reflection/v1/reflection.js";
import { ServerReflectionService as ReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection.js";
import {
  AdminServiceService,
  CreateStoreRequest,
  CreateTokenRequest,
  DeleteStoreRequest,
  GetStoreRequest,
  ListStoresRequest,
  ListTokensRequest,
  RevokeTokenRequest,
} from "../../gen/hexclave/v1/admin_service.js";
import type { KeyRef } from "../../gen/hexclave/v1/types.js";
import {
  BatchGetValuesRequest,
  DeleteValueRequest,
  DescribeStoreRequest,
  GetValueRequest,
  ListEntriesRequest,
  RegisterSecretRequest,
  RetireSecretRequest,
  SetValueRequest,
  VaultServiceService,
} from "../../gen/hexclave/v1/vault_service.js";
import type { KnownSecrets } from "./leak-patterns.js";
import type { SeededRandom } from "./seeded-random.js";

/**
 * Every method the server offers — hexclave.v1.VaultService and
 * AdminService, grpc.health.v1.Health, both reflection versions — with the
 * shape of its request (for field-aware mutations) and a valid request
 * naming real data (a starting point to mutate).
 */

/** A request field, as the wire sees it. */
export interface FieldSpec {
  readonly no: number;
  readonly name: string;
  readonly type: "string" | "bytes" | "message" | "uint64" | "bool" | "int32";
  readonly repeated?: true;
  /** The nested message's fields, for type "message". */
  readonly fields?: readonly FieldSpec[];
}

/** What the server was set up with before the attack: real stores, entries and tokens. */
export interface AttackFixture {
  /** A store with entries under `fingerprint`. */
  readonly mainStore: string;
  /** A store that exists, granted to no scoped token. */
  readonly otherStore: string;
  /** Stores that DeleteStore and CreateStore may destroy and make again. */
  readonly doomedStores: readonly string[];
  /** The fingerprint the main store's entries are sealed under. */
  readonly fingerprint: Buffer;
  /** Fingerprints RegisterSecret and RetireSecret may add and remove (a bounded pool). */
  readonly spareFingerprints: readonly Buffer[];
  /** Key refs of the main store's entries. */
  readonly keys: readonly KeyRef[];
  readonly tokens: {
    readonly admin: string;
    /** read+write on mainStore. */
    readonly readWrite: string;
    readonly readOnly: string;
    readonly revoked: string;
  };
  /** Ids of tokens RevokeToken may revoke. */
  readonly doomedTokenIds: readonly string[];
  /** Every secret of the run, for the leak checks. */
  readonly known: KnownSecrets;
}

/** One method. */
export interface RpcTarget {
  readonly path: string;
  readonly kind: "unary" | "server-stream" | "bidi";
  /** Health's Watch never ends by itself: the attacker stops reading after the first answer. */
  readonly openEnded?: true;
  readonly fields: readonly FieldSpec[];
  /** A valid request (one message; several for the reflection stream). */
  valid(fx: AttackFixture, rng: SeededRandom): Uint8Array[];
}

const KEY_REF: readonly FieldSpec[] = [
  { no: 1, name: "key_id", type: "bytes" },
  { no: 2, name: "secret_fingerprint", type: "bytes" },
];
const GRANT: readonly FieldSpec[] = [
  { no: 1, name: "store_id", type: "string" },
  { no: 2, name: "read", type: "bool" },
  { no: 3, name: "write", type: "bool" },
];
const STORE_ID: FieldSpec = { no: 1, name: "store_id", type: "string" };
const key = (no: number, name: string, repeated?: true): FieldSpec => ({
  no,
  name,
  type: "message",
  fields: KEY_REF,
  ...(repeated ? { repeated } : {}),
});

const one = (bytes: Uint8Array): Uint8Array[] => [bytes];
const someKey = (fx: AttackFixture, rng: SeededRandom): KeyRef => rng.pick(fx.keys);
const someKeys = (fx: AttackFixture, rng: SeededRandom, max: number): KeyRef[] =>
  Array.from({ length: rng.int(max + 1) }, () => someKey(fx, rng));

const REFLECTION_FIELDS: readonly FieldSpec[] = [
  { no: 1, name: "host", type: "string" },
  { no: 3, name: "file_by_filename", type: "string" },
  { no: 4, name: "file_containing_symbol", type: "string" },
  {
    no: 5,
    name: "file_containing_extension",
    type: "message",
    fields: [
      { no: 1, name: "containing_type", type: "string" },
      { no: 2, name: "extension_number", type: "int32" },
    ],
  },
  { no: 6, name: "all_extension_numbers_of_type", type: "string" },
  { no: 7, name: "list_services", type: "string" },
];

function reflectionRequests(rng: SeededRandom): Uint8Array[] {
  const ask = (): ServerReflectionRequest =>
    rng.pick<ServerReflectionRequest>([
      { host: "", listServices: "" },
      { host: "", fileByFilename: "hexclave/v1/vault_service.proto" },
      { host: "", fileContainingSymbol: "hexclave.v1.VaultService" },
      { host: "", fileContainingSymbol: ".hexclave.v1.KeyRef" },
      { host: "", allExtensionNumbersOfType: "hexclave.v1.Store" },
      {
        host: "",
        fileContainingExtension: { containingType: "hexclave.v1.Store", extensionNumber: 99 },
      },
      { host: "x", fileByFilename: rng.text(12) },
    ]);
  return Array.from({ length: rng.range(1, 3) }, () =>
    ServerReflectionRequest.encode(ask()).finish(),
  );
}

/** Every method of every service the server registers. */
export const RPC_TARGETS: readonly RpcTarget[] = [
  {
    path: VaultServiceService.describeStore.path,
    kind: "unary",
    fields: [STORE_ID],
    valid: (fx) => one(DescribeStoreRequest.encode({ storeId: fx.mainStore }).finish()),
  },
  {
    path: VaultServiceService.getValue.path,
    kind: "unary",
    fields: [STORE_ID, key(2, "key"), key(3, "previous_keys", true)],
    valid: (fx, rng) =>
      one(
        GetValueRequest.encode({
          storeId: fx.mainStore,
          key: someKey(fx, rng),
          previousKeys: someKeys(fx, rng, 2),
        }).finish(),
      ),
  },
  {
    path: VaultServiceService.setValue.path,
    kind: "unary",
    fields: [
      STORE_ID,
      key(2, "key"),
      { no: 3, name: "sealed_value", type: "bytes" },
      { no: 4, name: "expected_version", type: "uint64" },
      key(5, "previous_keys", true),
    ],
    valid: (fx, rng) =>
      one(
        SetValueRequest.encode({
          storeId: fx.mainStore,
          key: someKey(fx, rng),
          sealedValue: rng.bytes(rng.range(1, 400)),
          expectedVersion: rng.chance(0.3) ? BigInt(rng.int(50)) : undefined,
          previousKeys: [],
        }).finish(),
      ),
  },
  {
    path: VaultServiceService.deleteValue.path,
    kind: "unary",
    fields: [
      STORE_ID,
      key(2, "key"),
      key(3, "previous_keys", true),
      { no: 4, name: "expected_version", type: "uint64" },
    ],
    valid: (fx, rng) =>
      one(
        DeleteValueRequest.encode({
          storeId: fx.mainStore,
          key: someKey(fx, rng),
          previousKeys: [],
          expectedVersion: rng.chance(0.5) ? BigInt(rng.int(50)) : undefined,
        }).finish(),
      ),
  },
  {
    path: VaultServiceService.batchGetValues.path,
    kind: "unary",
    fields: [STORE_ID, key(2, "keys", true)],
    valid: (fx, rng) =>
      one(
        BatchGetValuesRequest.encode({
          storeId: fx.mainStore,
          keys: [someKey(fx, rng), ...someKeys(fx, rng, 12)],
        }).finish(),
      ),
  },
  {
    path: VaultServiceService.listEntries.path,
    kind: "server-stream",
    fields: [
      STORE_ID,
      { no: 2, name: "secret_fingerprints", type: "bytes", repeated: true },
      { no: 3, name: "start_after_key_id", type: "bytes" },
      { no: 4, name: "page_size", type: "uint64" },
    ],
    valid: (fx, rng) =>
      one(
        ListEntriesRequest.encode({
          storeId: fx.mainStore,
          secretFingerprints: rng.chance(0.5) ? [fx.fingerprint] : [],
          startAfterKeyId: rng.chance(0.3) ? someKey(fx, rng).keyId : Buffer.alloc(0),
          pageSize: BigInt(rng.int(40)),
        }).finish(),
      ),
  },
  {
    path: VaultServiceService.registerSecret.path,
    kind: "unary",
    fields: [
      STORE_ID,
      { no: 2, name: "secret_fingerprint", type: "bytes" },
      { no: 3, name: "known_secret_fingerprint", type: "bytes" },
    ],
    valid: (fx, rng) =>
      one(
        RegisterSecretRequest.encode({
          storeId: fx.mainStore,
          secretFingerprint: rng.pick(fx.spareFingerprints),
          knownSecretFingerprint: fx.fingerprint,
        }).finish(),
      ),
  },
  {
    path: VaultServiceService.retireSecret.path,
    kind: "unary",
    fields: [STORE_ID, { no: 2, name: "secret_fingerprint", type: "bytes" }],
    valid: (fx, rng) =>
      one(
        RetireSecretRequest.encode({
          storeId: fx.mainStore,
          secretFingerprint: rng.pick(fx.spareFingerprints),
        }).finish(),
      ),
  },
  {
    path: AdminServiceService.createStore.path,
    kind: "unary",
    fields: [
      STORE_ID,
      { no: 2, name: "description", type: "string" },
      { no: 3, name: "max_value_bytes", type: "uint64" },
    ],
    valid: (fx, rng) =>
      one(
        CreateStoreRequest.encode({
          storeId: rng.pick(fx.doomedStores),
          description: rng.text(rng.int(40)),
          maxValueBytes: rng.chance(0.5) ? BigInt(rng.range(1024, 1024 * 1024)) : undefined,
        }).finish(),
      ),
  },
  {
    path: AdminServiceService.getStore.path,
    kind: "unary",
    fields: [STORE_ID],
    valid: (fx, rng) =>
      one(GetStoreRequest.encode({ storeId: rng.pick([fx.mainStore, fx.otherStore]) }).finish()),
  },
  {
    path: AdminServiceService.listStores.path,
    kind: "unary",
    fields: [],
    valid: () => one(ListStoresRequest.encode({}).finish()),
  },
  {
    path: AdminServiceService.deleteStore.path,
    kind: "unary",
    fields: [STORE_ID],
    valid: (fx, rng) =>
      one(DeleteStoreRequest.encode({ storeId: rng.pick(fx.doomedStores) }).finish()),
  },
  {
    path: AdminServiceService.createToken.path,
    kind: "unary",
    fields: [
      { no: 1, name: "name", type: "string" },
      { no: 2, name: "admin", type: "bool" },
      { no: 3, name: "grants", type: "message", repeated: true, fields: GRANT },
    ],
    valid: (fx, rng) =>
      one(
        CreateTokenRequest.encode(
          rng.chance(0.3)
            ? { name: rng.text(8), admin: true, grants: [] }
            : {
                name: rng.text(8),
                admin: false,
                grants: [{ storeId: fx.mainStore, read: true, write: rng.chance(0.5) }],
              },
        ).finish(),
      ),
  },
  {
    path: AdminServiceService.listTokens.path,
    kind: "unary",
    fields: [{ no: 1, name: "include_revoked", type: "bool" }],
    valid: (_fx, rng) =>
      one(ListTokensRequest.encode({ includeRevoked: rng.chance(0.5) }).finish()),
  },
  {
    path: AdminServiceService.revokeToken.path,
    kind: "unary",
    fields: [{ no: 1, name: "token_id", type: "string" }],
    valid: (fx, rng) =>
      one(RevokeTokenRequest.encode({ tokenId: rng.pick(fx.doomedTokenIds) }).finish()),
  },
  {
    path: HealthService.check.path,
    kind: "unary",
    fields: [{ no: 1, name: "service", type: "string" }],
    valid: (_fx, rng) =>
      one(
        HealthCheckRequest.encode({
          service: rng.pick(["", "hexclave.v1.VaultService", "grpc.health.v1.Health"]),
        }).finish(),
      ),
  },
  {
    path: HealthService.list.path,
    kind: "unary",
    fields: [],
    valid: () => one(HealthListRequest.encode({}).finish()),
  },
  {
    path: HealthService.watch.path,
    kind: "server-stream",
    openEnded: true,
    fields: [{ no: 1, name: "service", type: "string" }],
    valid: (_fx, rng) =>
      one(
        HealthCheckRequest.encode({ service: rng.pick(["", "hexclave.v1.AdminService"]) }).finish(),
      ),
  },
  {
    path: ReflectionV1.serverReflectionInfo.path,
    kind: "bidi",
    fields: REFLECTION_FIELDS,
    valid: (_fx, rng) => reflectionRequests(rng),
  },
  {
    path: ReflectionV1alpha.serverReflectionInfo.path,
    kind: "bidi",
    fields: REFLECTION_FIELDS,
    valid: (_fx, rng) => reflectionRequests(rng),
  },
];

/** The method name of a path: "/hexclave.v1.VaultService/GetValue" → "VaultService/GetValue". */
export function shortMethod(path: string): string {
  const [service = "", method = ""] = path.slice(1).split("/");
  return `${service.split(".").pop()}${service.includes("v1alpha") ? "(v1alpha)" : ""}/${method}`;
}
