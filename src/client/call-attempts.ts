import { HexclaveError, UnavailableError, VersionConflictError } from "./hexclave-error.js";
import { type CallSafety, mayRetry, nothingDone, type RetryPolicy } from "./retry-policy.js";

/**
 * What one call's tries share.
 *
 * @example
 * const call: CallBudget = { policy, safety: "read", deadline: Date.now() + 10_000, closed: () => false };
 */
export interface CallBudget {
  readonly policy: RetryPolicy;
  readonly safety: CallSafety;
  /** The call's one deadline (ms since the epoch): retries never extend it. */
  readonly deadline: number;
  /** True once the client is closed: no try starts after that. */
  readonly closed: () => boolean;
}

/**
 * How a try that failed after an earlier try may have been applied is
 * settled: a check-and-set that finds VERSION_CONFLICT may be looking at its
 * own first try (vault-rpc.ts reads the entry back). Returns undefined to
 * report the conflict as it is.
 */
export type SettleConflict<T> = (conflict: HexclaveError) => Promise<T | undefined>;

/**
 * Runs `attempt` until it succeeds, the failure may not be retried
 * (retry-policy.ts), the tries run out, or the next wait would pass the
 * deadline. Between tries it waits a jittered, growing backoff.
 *
 * The error it gives up with is the last one, except that an UNAVAILABLE of
 * a write says whether the write may have been applied
 * (`UnavailableError.mayHaveBeenApplied`): a try that was cut off after it
 * was sent might have been.
 *
 * @throws HexclaveError from the last try.
 * @example
 * const entry = await withRetries(budget, (deadline) => unaryCall(method, request, metadata, { deadline, waitForReady, address }));
 */
export async function withRetries<T>(
  budget: CallBudget,
  attempt: (deadline: number) => Promise<T>,
  settleConflict?: SettleConflict<T>,
): Promise<T> {
  let cutOff = false;
  for (let tries = 1; ; tries++) {
    let error: HexclaveError;
    try {
      return await attempt(budget.deadline);
    } catch (thrown) {
      if (!(thrown instanceof HexclaveError)) throw thrown;
      error = thrown;
    }
    if (cutOff && error.code === "VERSION_CONFLICT" && settleConflict !== undefined) {
      const settled = await settleConflict(error);
      if (settled !== undefined) return settled;
      throw conflictAfterCutOff(error);
    }
    if (error.code === "UNAVAILABLE" && !nothingDone(error)) cutOff = true;
    const delay = budget.policy.backoffMs(tries);
    const retry =
      mayRetry(budget.safety, error) &&
      tries < budget.policy.maxAttempts &&
      Date.now() + delay < budget.deadline &&
      !budget.closed();
    if (!retry) throw finalError(error, budget.safety !== "read" && cutOff);
    await new Promise((resolve) => setTimeout(resolve, delay));
    if (budget.closed()) throw finalError(error, budget.safety !== "read" && cutOff);
  }
}

function finalError(error: HexclaveError, mayHaveBeenApplied: boolean): HexclaveError {
  if (error.code !== "UNAVAILABLE") return error;
  return new UnavailableError(
    mayHaveBeenApplied
      ? `${error.message}; this write was sent, and may have been applied: read the entry back before writing it again`
      : error.message,
    { reason: error.reason, metadata: error.metadata, cause: error.cause, mayHaveBeenApplied },
  );
}

function conflictAfterCutOff(conflict: HexclaveError): HexclaveError {
  return new VersionConflictError(
    `${conflict.message} (an earlier try of this call was cut off, and reading the entry back did not ` +
      "find its value: either the entry had changed before it, or it was applied and overwritten since)",
    { reason: conflict.reason, metadata: conflict.metadata, cause: conflict.cause },
  );
}
