import { CryptoError } from "./crypto-error.js";
import { MAX_WRITTEN_AT_MS, STORE_ID_PATTERN } from "./format-v1.js";

/**
 * Names a value's type for an error message without echoing the value (it may be secret).
 *
 * @throws never.
 * @example
 * ```ts
 * describeType(null); // "null"
 * ```
 */
export function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "object") return value.constructor?.name ?? "object";
  return typeof value;
}

/**
 * Asserts `value` is a Uint8Array (Buffer included), naming the argument in the message.
 *
 * @throws {CryptoError} INVALID_INPUT, e.g. `"storeSalt" expected a Uint8Array, got string`.
 * @example
 * ```ts
 * assertUint8Array("blob", blob);
 * ```
 */
export function assertUint8Array(name: string, value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new CryptoError(
      "INVALID_INPUT",
      `"${name}" expected a Uint8Array, got ${describeType(value)}`,
    );
  }
}

/**
 * Asserts `value` is a Uint8Array of exactly `length` bytes.
 *
 * @throws {CryptoError} INVALID_INPUT, e.g. `"keyId" expected 32 bytes, got 31`.
 * @example
 * ```ts
 * assertBytes("masterKey", masterKey, 32);
 * ```
 */
export function assertBytes(
  name: string,
  value: unknown,
  length: number,
): asserts value is Uint8Array {
  assertUint8Array(name, value);
  if (value.length !== length) {
    throw new CryptoError(
      "INVALID_INPUT",
      `"${name}" expected ${length} bytes, got ${value.length}`,
    );
  }
}

/**
 * Asserts a write time is whole Unix milliseconds a Date can hold (0 to 8.64e15), the range
 * a frame may carry.
 *
 * @throws {CryptoError} INVALID_INPUT, e.g. `"writtenAt" expected an integer of Unix milliseconds from 0 to 8640000000000000, got -1`.
 * @example
 * ```ts
 * assertWrittenAt(Date.now());
 * ```
 */
export function assertWrittenAt(value: unknown): asserts value is number {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > MAX_WRITTEN_AT_MS) {
    const got = typeof value === "number" ? String(value) : describeType(value);
    throw new CryptoError(
      "INVALID_INPUT",
      `"writtenAt" expected an integer of Unix milliseconds from 0 to ${MAX_WRITTEN_AT_MS}, got ${got}`,
    );
  }
}

/**
 * Asserts a store id matches docs/sealing.md §2, which also keeps it within a one-byte length prefix.
 *
 * @throws {CryptoError} INVALID_INPUT naming the rule and the (truncated) offending id.
 * @example
 * ```ts
 * assertStoreId("oauth-tokens");
 * ```
 */
export function assertStoreId(storeId: unknown): asserts storeId is string {
  if (typeof storeId !== "string") {
    throw new CryptoError(
      "INVALID_INPUT",
      `"storeId" expected a string, got ${describeType(storeId)}`,
    );
  }
  if (!STORE_ID_PATTERN.test(storeId)) {
    // JSON.stringify quotes and escapes, so a hostile id can't forge log lines.
    const shown = JSON.stringify(storeId.length > 70 ? `${storeId.slice(0, 70)}…` : storeId);
    throw new CryptoError(
      "INVALID_INPUT",
      `"storeId" must be 1 to 63 characters of a-z, 0-9, "_" and "-", starting with a letter or digit (${STORE_ID_PATTERN.source}), got ${shown}`,
    );
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** ES2024's String.prototype.isWellFormed: native in Node ≥ 20, missing from the ES2023 lib. */
type WellFormedCheck = { isWellFormed(): boolean };

/**
 * Asserts a string is well-formed Unicode, so its UTF-8 encoding round-trips.
 *
 * UTF-8 encoding silently turns a lone surrogate into U+FFFD: two different key names would
 * get one key id, and a text value would come back changed. Refusing them is the only honest
 * option.
 *
 * @throws {CryptoError} INVALID_INPUT, e.g. `"keyName" must be well-formed Unicode: lone surrogate at index 3`.
 * @example
 * ```ts
 * assertWellFormed("keyName", keyName);
 * ```
 */
export function assertWellFormed(name: string, value: string): void {
  // The native check scans a 1 MiB string in ≈0.25 ms, the regex in ≈1.7 ms; the regex runs
  // only when there is a lone surrogate, to name its index.
  if ((value as unknown as WellFormedCheck).isWellFormed()) return;
  const match = LONE_SURROGATE.exec(value);
  if (match !== null) {
    throw new CryptoError(
      "INVALID_INPUT",
      `"${name}" must be well-formed Unicode: lone surrogate at index ${match.index}`,
    );
  }
}
