import type { Entry } from "../gen/hexclave/v1/types.js";
import {
  BatchGetValuesResponse,
  GetValueResponse,
  SetValueResponse,
} from "../gen/hexclave/v1/vault_service.js";
import { open } from "../src/crypto/open.js";
import type { KeySpace } from "./key-space.js";
import { getValueBody, type RequestBody } from "./request-bodies.js";
import { keyName } from "./token-values.js";

/** What a correct answer looks like. */
export interface ExpectedShape {
  /** The key space the request was made from. */
  readonly space: KeySpace;
  /** Length of every sealed value. */
  readonly sealedBytes: number;
  /** Whether each value must open under the client's keys (false for the no-op's fixed bytes). */
  readonly opens: boolean;
}

/**
 * Checks that a response is what a correct server sends for `body`: the entry
 * (or every batch entry, in order) under the requested key id, with a sealed
 * value of the expected length; a new version for a write. With `opens`, each
 * value must also open under the client's keys to the entry's own key name.
 *
 * @returns undefined if the shape is right, else what is wrong.
 * @throws never.
 * @example
 * const problem = responseProblem(body, bytes, { space, sealedBytes: 345, opens: true });
 */
export function responseProblem(
  body: RequestBody,
  response: Buffer,
  expect: ExpectedShape,
): string | undefined {
  try {
    switch (body.op) {
      case "set": {
        const { version } = SetValueResponse.decode(response);
        return version >= 1 ? undefined : `SetValue answered version ${version}, expected ≥ 1`;
      }
      case "get": {
        const { entry } = GetValueResponse.decode(response);
        return entryProblem(entry, body.entries[0] as number, expect);
      }
      case "batch": {
        const { entries } = BatchGetValuesResponse.decode(response);
        if (entries.length !== body.entries.length) {
          return `BatchGetValues answered ${entries.length} entries, expected ${body.entries.length}`;
        }
        for (const [i, entry] of entries.entries()) {
          const problem = entryProblem(entry, body.entries[i] as number, expect);
          if (problem !== undefined) return `entry ${i}: ${problem}`;
        }
        return undefined;
      }
    }
  } catch (error) {
    return `the response does not decode: ${(error as Error).message}`;
  }
}

function entryProblem(
  entry: Entry | undefined,
  index: number,
  expect: ExpectedShape,
): string | undefined {
  if (entry === undefined) return `no entry for preloaded entry ${index}`;
  if (entry.sealedValue.length !== expect.sealedBytes) {
    return `sealed value of ${entry.sealedValue.length} bytes, expected ${expect.sealedBytes}`;
  }
  const { space } = expect;
  const ref = space.ref(index);
  if (!Buffer.from(entry.keyId).equals(Buffer.from(ref.keyId))) return "another entry's key id";
  if (!expect.opens) return undefined;
  try {
    const opened = open(space.keys, entry.keyId, entry.sealedValue);
    return opened.keyName === keyName(index) ? undefined : "the value opens to another key name";
  } catch {
    return "the value does not open with the client's keys";
  }
}

/**
 * The length of the sealed value the server holds for preloaded entry 0: what
 * every envelope of the bench's tokens measures (they share a padding bucket),
 * and what the no-op server must answer with.
 *
 * @throws Error if the call fails or the entry is missing.
 * @example
 * const sealedBytes = await storedSealedBytes(caller, space); // 345
 */
export async function storedSealedBytes(
  caller: { call(path: string, message: Uint8Array): Promise<Buffer> },
  space: KeySpace,
): Promise<number> {
  const body = getValueBody(space, 0);
  const { entry } = GetValueResponse.decode(await caller.call(body.path, body.message));
  if (entry === undefined) throw new Error("preloaded entry 0 is missing from the server");
  return entry.sealedValue.length;
}
