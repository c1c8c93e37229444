import { HexclaveError } from "./hexclave-error.js";

/**
 * Named assertions for everything a caller hands the client. Each message
 * names the argument and says what to fix; none echoes a secret or a value.
 */

/** Store ids (docs/sealing.md §2). */
const STORE_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** Key refs the server accepts in one GetValue/SetValue besides the key itself. */
export const MAX_PREVIOUS_SECRETS = 16;

function invalid(message: string): HexclaveError {
  return new HexclaveError("INVALID_ARGUMENT", message);
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Uint8Array) return "a Uint8Array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/**
 * @throws HexclaveError INVALID_ARGUMENT unless `value` is a store id.
 * @example
 * assertStoreId("oauth-tokens");
 */
export function assertStoreId(value: unknown): asserts value is string {
  if (typeof value !== "string" || !STORE_ID_PATTERN.test(value)) {
    const shown =
      typeof value === "string"
        ? JSON.stringify(value.length > 70 ? `${value.slice(0, 70)}…` : value)
        : typeName(value);
    throw invalid(
      `"storeId" must be 1 to 63 characters of a-z, 0-9, "_" and "-", starting with a letter or digit, got ${shown}`,
    );
  }
}

/**
 * @throws HexclaveError INVALID_ARGUMENT unless `value` is a non-empty string (a key name).
 * @example
 * assertKeyName("key", `gh:${user.id}`);
 */
export function assertKeyName(name: string, value: unknown): asserts value is string {
  if (typeof value !== "string" || value.length === 0) {
    throw invalid(
      `"${name}" must be a non-empty string (a key name such as "gh:42"), got ${describe(value)}`,
    );
  }
}

/**
 * @throws HexclaveError INVALID_ARGUMENT unless `value` is a string or Uint8Array.
 * @example
 * assertValue(refreshToken);
 */
export function assertValue(value: unknown): asserts value is string | Uint8Array {
  if (typeof value !== "string" && !(value instanceof Uint8Array)) {
    throw invalid(`"value" must be a string or a Uint8Array, got ${typeName(value)}`);
  }
}

/**
 * @throws HexclaveError INVALID_ARGUMENT unless `value` is an object (the options argument).
 * @example
 * assertOptions(options);
 */
export function assertOptions(value: unknown): asserts value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid(
      `the options argument must be an object such as { secret }, got ${typeName(value)}`,
    );
  }
}

/**
 * Checks the type of a secret only; its strength is checked by the sealing layer
 * (WeakSecretError), which knows the rules.
 *
 * @throws HexclaveError INVALID_ARGUMENT unless `value` is a string.
 * @example
 * assertSecretType("secret", options.secret);
 */
export function assertSecretType(name: string, value: unknown): asserts value is string {
  if (typeof value !== "string") {
    throw invalid(
      `"${name}" must be a string (your store secret, e.g. from HEXCLAVE_SECRET; make one with "hexclave secret generate"), got ${typeName(value)}`,
    );
  }
}

/**
 * @throws HexclaveError INVALID_ARGUMENT unless `value` is undefined or an array of at most 16 strings.
 * @example
 * const previous = assertPreviousSecrets(options.previousSecrets);
 */
export function assertPreviousSecrets(value: unknown): readonly string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw invalid(`"previousSecrets" must be an array of strings, got ${typeName(value)}`);
  }
  if (value.length > MAX_PREVIOUS_SECRETS) {
    throw invalid(
      `"previousSecrets" may hold at most ${MAX_PREVIOUS_SECRETS} secrets, got ${value.length}: finish a rotation ("rotateSecret") before starting another`,
    );
  }
  for (const [i, s] of value.entries()) assertSecretType(`previousSecrets[${i}]`, s);
  return value as string[];
}

/**
 * @throws HexclaveError INVALID_ARGUMENT unless `value` is undefined or a safe integer ≥ 0.
 * @example
 * assertVersion("ifVersion", options.ifVersion);
 */
export function assertVersion(name: string, value: unknown): asserts value is number | undefined {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(
      `"${name}" must be an integer ≥ 0 (a version from getEntry or setValue; 0 means "must not exist"), got ${describe(value)}`,
    );
  }
}

/**
 * The lifetime of a write as the wire carries it: a `ttl` from `expiresIn`,
 * an `expireTime` from `expiresAt`, or nothing.
 *
 * @throws HexclaveError INVALID_ARGUMENT for both at once, a non-positive or
 *   non-integer `expiresIn`, or an `expiresAt` that is not a valid Date.
 * @example
 * const lifetime = lifetimeOf({ expiresIn: 3_600_000 }); // { ttl: { seconds: 3600n, nanos: 0 } }
 */
export function lifetimeOf(options: {
  readonly expiresIn?: unknown;
  readonly expiresAt?: unknown;
}): { ttl?: { seconds: bigint; nanos: number }; expireTime?: Date } {
  const { expiresIn, expiresAt } = options;
  if (expiresIn !== undefined && expiresAt !== undefined) {
    throw invalid(`give "expiresIn" or "expiresAt", not both`);
  }
  if (expiresIn !== undefined) {
    if (typeof expiresIn !== "number" || !Number.isSafeInteger(expiresIn) || expiresIn <= 0) {
      throw invalid(
        `"expiresIn" must be a whole number of milliseconds > 0, got ${describe(expiresIn)}`,
      );
    }
    return {
      ttl: { seconds: BigInt(Math.floor(expiresIn / 1000)), nanos: (expiresIn % 1000) * 1_000_000 },
    };
  }
  if (expiresAt !== undefined) {
    if (!(expiresAt instanceof Date) || !Number.isFinite(expiresAt.getTime())) {
      throw invalid(`"expiresAt" must be a valid Date, got ${describe(expiresAt)}`);
    }
    return { expireTime: expiresAt };
  }
  return {};
}

/**
 * The write time to seal, in ms since the epoch: the given Date, or undefined for now.
 *
 * @throws HexclaveError INVALID_ARGUMENT unless `value` is undefined or a valid Date.
 * @example
 * seal(keys, key, value, writtenAtOf(options.writtenAt));
 */
export function writtenAtOf(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof Date) || !Number.isFinite(value.getTime())) {
    throw invalid(`"writtenAt" must be a valid Date, got ${describe(value)}`);
  }
  return value.getTime();
}

/**
 * @throws HexclaveError INVALID_ARGUMENT unless `value` is undefined, "text" or "bytes".
 * @example
 * assertAs(options.as);
 */
export function assertAs(value: unknown): asserts value is "text" | "bytes" | undefined {
  if (value !== undefined && value !== "text" && value !== "bytes") {
    const shown = typeof value === "string" ? JSON.stringify(value.slice(0, 20)) : describe(value);
    throw invalid(`"as" must be "text" or "bytes", got ${shown}`);
  }
}

/**
 * @throws HexclaveError INVALID_ARGUMENT unless `value` is a positive integer no larger than `max`.
 * @example
 * assertPositiveInt("timeoutMs", options.timeoutMs, 2 ** 31 - 1);
 */
export function assertPositiveInt(
  name: string,
  value: unknown,
  max: number,
): asserts value is number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw invalid(`"${name}" must be an integer from 1 to ${max}, got ${describe(value)}`);
  }
}

/** Shows a non-secret argument in a message: numbers and short strings as they are, else the type. */
function describe(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return value.length === 0 ? "an empty string" : "a string";
  return typeName(value);
}
