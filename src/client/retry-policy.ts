import { assertPositiveInt } from "./client-assertions.js";
import { HexclaveError } from "./hexclave-error.js";

/**
 * How the client retries calls that a restarting server or a lost connection
 * cut off. Every try of a call shares the call's one deadline (`timeoutMs`).
 *
 * @example
 * new HexclaveClient({ address, token, retry: { maxAttempts: 3, maxBackoffMs: 500 } });
 */
export interface RetryOptions {
  /**
   * Tries per call, the first included: 1 (never retry) to 20. Default 10;
   * usually the call's deadline ends the retries first.
   */
  readonly maxAttempts?: number | undefined;
  /**
   * Wait before the first retry, in milliseconds. Each later wait doubles, up
   * to `maxBackoffMs`, and each is jittered (a random 50 to 100 % of it), so
   * clients cut off together do not come back together. Default 100.
   */
  readonly initialBackoffMs?: number | undefined;
  /** Longest wait between two tries, in milliseconds. Default 2,000. */
  readonly maxBackoffMs?: number | undefined;
}

/**
 * What a retry may do to the data, which decides when a call is tried again:
 *
 * - `read`: reads, listings, DescribeStore, and RegisterSecret/RetireSecret
 *   (registering or retiring twice is the same as once): retried after any
 *   UNAVAILABLE.
 * - `checked`: writes with `ifVersion`. A second try cannot apply twice (the
 *   first one, if it was applied, moved the version), so they are retried
 *   after any UNAVAILABLE; the caller then resolves a VERSION_CONFLICT that
 *   may be its own first try (vault-rpc.ts).
 * - `unchecked`: writes without `ifVersion`. Retried only when the server
 *   says nothing was done (SHUTTING_DOWN, SERVER_STARTING); any other UNAVAILABLE after the
 *   call was sent leaves its outcome unknown, and a second try could apply it
 *   twice. A write that never left is not failed in the first place: with
 *   `waitForReady` it waits for a connection, and grpc-js resends a stream the
 *   server refused before reading it (REFUSED_STREAM).
 */
export type CallSafety = "read" | "checked" | "unchecked";

/** UNAVAILABLE reasons whose sender guarantees that nothing was done. */
const NOTHING_DONE_REASONS: ReadonlySet<string> = new Set(["SHUTTING_DOWN", "SERVER_STARTING"]);

/**
 * A validated, frozen retry policy; `maxAttempts` 1 when retries are off.
 *
 * @example
 * const policy = retryPolicy(options.retry);
 * const delay = policy.backoffMs(1); // before the second try
 */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** The jittered wait after try number `attempt` (1-based) failed. */
  backoffMs(attempt: number): number;
}

const DEFAULTS = { maxAttempts: 10, initialBackoffMs: 100, maxBackoffMs: 2000 } as const;
const MAX_ATTEMPTS = 20;
const MAX_BACKOFF_MS = 60_000;

/**
 * The policy for `retry` as given to the client: options, `false` (off) or undefined (defaults).
 *
 * @throws HexclaveError INVALID_ARGUMENT for anything else, or numbers out of range.
 * @example
 * const policy = retryPolicy({ maxAttempts: 3 });
 */
export function retryPolicy(options: RetryOptions | false | undefined): RetryPolicy {
  if (options === false) return freeze({ ...DEFAULTS, maxAttempts: 1 });
  if (options === undefined) return freeze(DEFAULTS);
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new HexclaveError(
      "INVALID_ARGUMENT",
      `"retry" must be false or an object such as { maxAttempts: 3 }`,
    );
  }
  const maxAttempts = options.maxAttempts ?? DEFAULTS.maxAttempts;
  const initialBackoffMs = options.initialBackoffMs ?? DEFAULTS.initialBackoffMs;
  const maxBackoffMs = options.maxBackoffMs ?? Math.max(DEFAULTS.maxBackoffMs, initialBackoffMs);
  assertPositiveInt("retry.maxAttempts", maxAttempts, MAX_ATTEMPTS);
  assertPositiveInt("retry.initialBackoffMs", initialBackoffMs, MAX_BACKOFF_MS);
  assertPositiveInt("retry.maxBackoffMs", maxBackoffMs, MAX_BACKOFF_MS);
  if (maxBackoffMs < initialBackoffMs) {
    throw new HexclaveError(
      "INVALID_ARGUMENT",
      `"retry.maxBackoffMs" (${maxBackoffMs}) must be at least "retry.initialBackoffMs" (${initialBackoffMs})`,
    );
  }
  return freeze({ maxAttempts, initialBackoffMs, maxBackoffMs });
}

function freeze(limits: Omit<RetryPolicy, "backoffMs">): RetryPolicy {
  const { initialBackoffMs, maxBackoffMs } = limits;
  return Object.freeze({
    ...limits,
    backoffMs(attempt: number): number {
      const ceiling = Math.min(maxBackoffMs, initialBackoffMs * 2 ** Math.min(attempt - 1, 30));
      return Math.round(ceiling * (0.5 + Math.random() / 2));
    },
  });
}

/**
 * Whether a failed try may be tried again, by what the call may do to the data.
 *
 * @example
 * if (mayRetry("read", error)) await sleep(policy.backoffMs(attempt));
 */
export function mayRetry(safety: CallSafety, error: HexclaveError): boolean {
  if (error.code !== "UNAVAILABLE") return false;
  return safety !== "unchecked" || nothingDone(error);
}

/**
 * Whether an UNAVAILABLE answer proves the call did nothing: the server said
 * so. Any other failure after a call was sent leaves a write's outcome open.
 *
 * @example
 * const ambiguous = error.code === "UNAVAILABLE" && !nothingDone(error);
 */
export function nothingDone(error: HexclaveError): boolean {
  if (KNOWN_UNSENT.has(error)) return true;
  return error.reason !== undefined && NOTHING_DONE_REASONS.has(error.reason);
}

/** Failures the client knows came before the call was sent. */
const KNOWN_UNSENT = new WeakSet<HexclaveError>();

/**
 * Marks a failure the client made itself, before the call was sent (it
 * waited for a connection that never came), so it counts as nothing done.
 *
 * @example
 * throw markUnsent(new UnavailableError("no connection within 10000 ms"));
 */
export function markUnsent<E extends HexclaveError>(error: E): E {
  KNOWN_UNSENT.add(error);
  return error;
}
