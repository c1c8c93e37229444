import { limits } from "./limits.js";
import { VaultError } from "./vault-error.js";

/** A key ref after validation: both parts have their exact lengths. */
export interface ValidKeyRef {
  readonly keyId: Buffer;
  readonly fingerprint: Buffer;
}

/**
 * Asserts a store id has the allowed shape.
 *
 * @throws VaultError INVALID_STORE_ID, saying what the shape is.
 */
export function assertStoreId(value: string, field = "store_id"): string {
  if (!limits.storeIdPattern.test(value)) {
    const shown = value.length > 80 ? `${value.slice(0, 80)}…` : value;
    throw new VaultError(
      "INVALID_STORE_ID",
      `"${field}" must match ${limits.storeIdPattern.source} (lowercase letters, digits, "_" and "-", ` +
        `at most 63 characters), got ${JSON.stringify(shown)}`,
    );
  }
  return value;
}

/**
 * Asserts a byte field has an exact length.
 *
 * @throws VaultError with `reason`, naming the field and both lengths.
 */
export function assertBytes(
  value: Uint8Array | undefined,
  length: number,
  field: string,
  reason: "INVALID_KEY_ID" | "INVALID_FINGERPRINT",
): Buffer {
  const got = value?.length ?? 0;
  if (value === undefined || got !== length) {
    throw new VaultError(reason, `"${field}" must be exactly ${length} bytes, got ${got}`, {
      metadata: { field, expected_bytes: String(length), actual_bytes: String(got) },
    });
  }
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/**
 * Asserts a key ref is present and well formed.
 *
 * @throws VaultError INVALID_KEY_ID or INVALID_FINGERPRINT.
 */
export function assertKeyRef(
  ref: { keyId: Uint8Array; secretFingerprint: Uint8Array } | undefined,
  field: string,
): ValidKeyRef {
  if (ref === undefined) {
    throw new VaultError(
      "INVALID_KEY_ID",
      `"${field}" is required: the entry's key id and secret fingerprint`,
      {
        metadata: { field },
      },
    );
  }
  return {
    keyId: assertBytes(ref.keyId, limits.keyIdBytes, `${field}.key_id`, "INVALID_KEY_ID"),
    fingerprint: assertBytes(
      ref.secretFingerprint,
      limits.fingerprintBytes,
      `${field}.secret_fingerprint`,
      "INVALID_FINGERPRINT",
    ),
  };
}

/**
 * Asserts a list of key refs is within `max` and well formed.
 *
 * @throws VaultError TOO_MANY_KEYS, INVALID_KEY_ID or INVALID_FINGERPRINT.
 */
export function assertKeyRefs(
  refs: readonly { keyId: Uint8Array; secretFingerprint: Uint8Array }[],
  field: string,
  bounds: { readonly min: number; readonly max: number },
): ValidKeyRef[] {
  if (refs.length > bounds.max) {
    throw new VaultError(
      "TOO_MANY_KEYS",
      `"${field}" may hold at most ${bounds.max} key refs, got ${refs.length}: split the call`,
      { metadata: { field, limit: String(bounds.max), actual: String(refs.length) } },
    );
  }
  if (refs.length < bounds.min) {
    throw new VaultError("INVALID_KEY_ID", `"${field}" needs at least ${bounds.min} key ref`, {
      metadata: { field },
    });
  }
  return refs.map((ref, i) => assertKeyRef(ref, `${field}[${i}]`));
}

/**
 * Asserts a sealed value is non-empty and within the store's limit.
 *
 * @throws VaultError INVALID_VALUE or VALUE_TOO_LARGE.
 */
export function assertSealedValue(value: Uint8Array, maxBytes: number): Buffer {
  if (value.length === 0) {
    throw new VaultError(
      "INVALID_VALUE",
      `"sealed_value" is empty: send the envelope produced by the client's sealing layer`,
    );
  }
  if (value.length > maxBytes) {
    throw new VaultError(
      "VALUE_TOO_LARGE",
      `"sealed_value" is ${value.length} bytes; this store accepts at most ${maxBytes}. ` +
        "Store less, or have an admin create a store with a larger max_value_bytes",
      { metadata: { limit: String(maxBytes), actual: String(value.length) } },
    );
  }
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/**
 * Asserts a free-text field is within bounds.
 *
 * @throws VaultError INVALID_ARGUMENT.
 */
export function assertText(
  value: string,
  field: string,
  bounds: { readonly min: number; readonly max: number },
): string {
  const length = [...value].length;
  if (length < bounds.min || length > bounds.max) {
    throw new VaultError(
      "INVALID_ARGUMENT",
      `"${field}" must be ${bounds.min} to ${bounds.max} characters, got ${length}`,
      { metadata: { field } },
    );
  }
  if ([...value].some((c) => (c.codePointAt(0) ?? 0) < 0x20 || c === "\u007f")) {
    throw new VaultError("INVALID_ARGUMENT", `"${field}" must not contain control characters`, {
      metadata: { field },
    });
  }
  return value;
}

/**
 * Asserts an integer is within bounds.
 *
 * @throws VaultError INVALID_ARGUMENT.
 */
export function assertIntInRange(
  value: number,
  field: string,
  bounds: { readonly min: number; readonly max: number },
): number {
  if (!Number.isInteger(value) || value < bounds.min || value > bounds.max) {
    throw new VaultError(
      "INVALID_ARGUMENT",
      `"${field}" must be an integer from ${bounds.min} to ${bounds.max}, got ${value}`,
      { metadata: { field } },
    );
  }
  return value;
}

/**
 * Asserts a uint64 from the wire is within bounds, and returns it as a number
 * (every bound here is below 2^53, so the number is exact).
 *
 * @throws VaultError INVALID_ARGUMENT naming the field and its range.
 * @example
 * const expected = assertUint64InRange(req.expectedVersion, "expected_version", { min: 0, max: MAX_VERSION });
 */
export function assertUint64InRange(
  value: bigint,
  field: string,
  bounds: { readonly min: number; readonly max: number },
): number {
  if (value < BigInt(bounds.min) || value > BigInt(bounds.max)) {
    throw new VaultError(
      "INVALID_ARGUMENT",
      `"${field}" must be an integer from ${bounds.min} to ${bounds.max}, got ${value}`,
      { metadata: { field } },
    );
  }
  return Number(value);
}
