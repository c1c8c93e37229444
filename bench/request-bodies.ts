import {
  BatchGetValuesRequest,
  GetValueRequest,
  SetValueRequest,
  VaultServiceService,
} from "../gen/hexclave/v1/vault_service.js";
import { seal } from "../src/crypto/seal.js";
import type { KeySpace } from "./key-space.js";
import { keyName, tokenValue } from "./token-values.js";

/** The data-plane operations the bench drives. */
export type Op = "get" | "set" | "batch";

/** Key ids per BatchGetValues request. */
export const BATCH_SIZE = 100;

/** One pre-encoded request: what a load generator process sends over and over. */
export interface RequestBody {
  readonly op: Op;
  /** HTTP/2 path, e.g. "/hexclave.v1.VaultService/GetValue". */
  readonly path: string;
  /** The protobuf request (without the gRPC frame). */
  readonly message: Uint8Array;
  /** The preloaded entries the request names, in request order. */
  readonly entries: readonly number[];
}

/**
 * GetValue for one preloaded entry.
 *
 * @throws RangeError for an entry that was not preloaded.
 * @example
 * const body = getValueBody(space, 42);
 */
export function getValueBody(space: KeySpace, entry: number): RequestBody {
  const message = GetValueRequest.encode({
    storeId: space.storeId,
    key: space.ref(entry),
    previousKeys: [],
  }).finish();
  return { op: "get", path: VaultServiceService.getValue.path, message, entries: [entry] };
}

/**
 * SetValue overwriting one preloaded entry with a freshly sealed token of the
 * same shape: the table does not grow while a row runs, and every write is a
 * real, openable envelope.
 *
 * @throws RangeError for an entry that was not preloaded.
 * @example
 * const body = setValueBody(space, 7);
 */
export function setValueBody(space: KeySpace, entry: number): RequestBody {
  const message = SetValueRequest.encode({
    storeId: space.storeId,
    key: space.ref(entry),
    sealedValue: seal(space.keys, keyName(entry), tokenValue()),
    expectedVersion: undefined,
    previousKeys: [],
  }).finish();
  return { op: "set", path: VaultServiceService.setValue.path, message, entries: [entry] };
}

/**
 * BatchGetValues for {@link BATCH_SIZE} distinct preloaded entries.
 *
 * @throws RangeError for entries that were not preloaded.
 * @example
 * const body = batchGetBody(space, space.spread(100, 3));
 */
export function batchGetBody(space: KeySpace, entries: readonly number[]): RequestBody {
  const message = BatchGetValuesRequest.encode({
    storeId: space.storeId,
    keys: entries.map((e) => space.ref(e)),
  }).finish();
  return {
    op: "batch",
    path: VaultServiceService.batchGetValues.path,
    message,
    entries: [...entries],
  };
}
