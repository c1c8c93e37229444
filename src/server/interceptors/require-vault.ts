import { VaultError } from "../../vault/vault-error.js";
import type { Interceptor } from "../call-pipeline.js";

/**
 * Refuses calls until the vault is open: the listener is up (health answers
 * NOT_SERVING) while the server still waits for its database, and a call
 * then must learn to retry, not that the method does not exist.
 *
 * @example
 * chain([observe, requireVault(() => vault !== undefined), authenticate(a)], handler);
 */
export function requireVault(isOpen: () => boolean): Interceptor {
  return (next) => (call) => {
    if (!isOpen()) {
      return Promise.reject(
        // A reason of its own: unlike STORAGE_UNAVAILABLE, it promises that nothing was
        // done, so a client may resend even a write that is not idempotent.
        new VaultError(
          "SERVER_STARTING",
          "the server is starting and cannot reach its database yet: nothing was done; retry shortly",
        ),
      );
    }
    return next(call);
  };
}
