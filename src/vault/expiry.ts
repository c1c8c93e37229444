import { VaultError } from "./vault-error.js";

/** A span of time as it arrives (google.protobuf.Duration's shape). */
export interface DurationInput {
  readonly seconds: bigint;
  readonly nanos: number;
}

/** How long something may live: the bounds a ttl or an expiry time must keep. */
export interface ExpiryBounds {
  readonly minMs: number;
  readonly maxMs: number;
  /** What the setting is called in messages, e.g. "ttl". */
  readonly ttlField: string;
  /** The absolute form's name, if the call offers one. */
  readonly timeField?: string;
}

/** Entries live at most 100 years. */
export const ENTRY_EXPIRY: ExpiryBounds = Object.freeze({
  minMs: 1,
  maxMs: 100 * 365.25 * 86_400_000,
  ttlField: "ttl",
  timeField: "expire_time",
});

/** Tokens live at least a second and at most 10 years. */
export const TOKEN_EXPIRY: ExpiryBounds = Object.freeze({
  minMs: 1_000,
  maxMs: 10 * 365.25 * 86_400_000,
  ttlField: "ttl",
});

/**
 * When something expires, by the server's clock: `now + ttl`, or the given
 * time, or never (null). The server's clock rules so that clients with a
 * skewed clock still get the lifetime they asked for.
 *
 * @throws VaultError INVALID_ARGUMENT for both forms at once, a negative or
 *   out-of-range span, or a time that is not in the future.
 * @example
 * const expiresAt = expiryOf({ ttl: { seconds: 3600n, nanos: 0 } }, Date.now(), ENTRY_EXPIRY);
 */
export function expiryOf(
  input: { readonly ttl?: DurationInput | undefined; readonly expireTime?: Date | undefined },
  now: number,
  bounds: ExpiryBounds,
): number | null {
  const { ttl, expireTime } = input;
  if (ttl !== undefined && expireTime !== undefined) {
    throw invalid(`give "${bounds.ttlField}" or "${bounds.timeField}", not both`, bounds.ttlField);
  }
  if (ttl !== undefined) {
    const ms = Number(ttl.seconds) * 1000 + Math.floor(ttl.nanos / 1_000_000);
    if (ttl.nanos < 0 || ttl.nanos > 999_999_999 || !(ms >= bounds.minMs && ms <= bounds.maxMs)) {
      throw invalid(
        `"${bounds.ttlField}" must be from ${describe(bounds.minMs)} to ${describe(bounds.maxMs)}, got ${ttl.seconds}s ${ttl.nanos}ns`,
        bounds.ttlField,
      );
    }
    return now + ms;
  }
  if (expireTime !== undefined) {
    const at = expireTime.getTime();
    const field = bounds.timeField ?? "expire_time";
    if (!Number.isFinite(at) || at <= now || at - now > bounds.maxMs) {
      throw invalid(
        `"${field}" must be a time in the future, at most ${describe(bounds.maxMs)} away (the server's clock is ${new Date(now).toISOString()})`,
        field,
      );
    }
    return at;
  }
  return null;
}

function describe(ms: number): string {
  if (ms >= 365 * 86_400_000) return `${Math.round(ms / (365.25 * 86_400_000))} years`;
  if (ms >= 60_000) return `${Math.round(ms / 60_000)} minutes`;
  return `${ms} ms`;
}

function invalid(message: string, field: string): VaultError {
  return new VaultError("INVALID_ARGUMENT", message, { metadata: { field } });
}
