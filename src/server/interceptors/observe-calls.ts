import { VaultError } from "../../vault/vault-error.js";
import type { Interceptor, ServerCall } from "../call-pipeline.js";
import { type CallObserver, storeIdOf } from "../call-record.js";
import { type CallOutcome, OK_OUTCOME, outcomeOf } from "../error-status.js";

/**
 * Reports every call's outcome to `observe` (the call log, metrics) when it
 * ends. Outermost in the chain, so it sees refusals by the steps after it
 * (authentication, limits) as well as the handler's result. A call whose
 * client went away is reported as CANCELLED or DEADLINE_EXCEEDED, whatever
 * the handler did after.
 *
 * @example
 * chain([observeCalls(callLog(log)), authenticate(authenticator)], handler);
 */
export function observeCalls(observe: CallObserver): Interceptor {
  return (next) => async (call) => {
    try {
      const response = await next(call);
      report(observe, call, call.cancelled ? gone(call) : OK_OUTCOME, undefined);
      return response;
    } catch (error) {
      report(observe, call, call.cancelled ? gone(call) : outcomeOf(error), error);
      throw error;
    }
  };
}

function gone(call: ServerCall): CallOutcome {
  const reason = Date.now() >= call.deadline ? "DEADLINE_EXCEEDED" : "CANCELLED";
  return outcomeOf(new VaultError(reason, reason));
}

function report(
  observe: CallObserver,
  call: ServerCall,
  outcome: CallOutcome,
  error: unknown,
): void {
  observe({
    method: call.method.path,
    requestId: call.requestId,
    outcome,
    ms: performance.now() - call.startedAt,
    peer: call.peer,
    tokenId: call.caller?.tokenId ?? call.presentedTokenId,
    storeId: storeIdOf(call.request),
    error,
  });
}
