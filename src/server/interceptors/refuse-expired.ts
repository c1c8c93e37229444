import { VaultError } from "../../vault/vault-error.js";
import type { Interceptor } from "../call-pipeline.js";

/**
 * Refuses a call whose deadline passed before it could start (it waited in
 * a queue, or the client sent an already-expired timeout): nobody waits for
 * its answer, so doing its work — a write above all — only adds load.
 * Deadlines that pass later cancel the call (its signal aborts).
 *
 * @example
 * chain([observe, refuseExpired(), authenticate(a)], handler);
 */
export function refuseExpired(): Interceptor {
  return (next) => (call) => {
    if (Date.now() >= call.deadline) {
      return Promise.reject(
        new VaultError(
          "DEADLINE_EXCEEDED",
          "the call's deadline had passed before the server could start it: raise the client's timeout",
        ),
      );
    }
    return next(call);
  };
}
