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
        new VaultError(
          "STORAGE_UNAVAILABLE",
          "the server is starting and cannot reach its database yet: retry shortly",
        ),
      );
    }
    return next(call);
  };
}
