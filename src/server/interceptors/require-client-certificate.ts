import { VaultError } from "../../vault/vault-error.js";
import type { Interceptor } from "../call-pipeline.js";

/**
 * Under mTLS, refuses a call whose connection did not present a client
 * certificate the client CA verified (none, another CA's, an expired one).
 * The TLS layer asks for a certificate without insisting, so that health
 * probes can connect without one; every Hexclave call insists here, before
 * its token is even looked at.
 *
 * @example
 * chain([observe, requireClientCertificate(), authenticate(a)], handler);
 */
export function requireClientCertificate(): Interceptor {
  return (next) => (call) => {
    if (call.clientIdentity === undefined) {
      return Promise.reject(
        new VaultError(
          "CLIENT_CERTIFICATE_REQUIRED",
          "this server requires a client certificate signed by its client CA: set HEXCLAVE_TLS_CERT and HEXCLAVE_TLS_KEY (or the client's tls options) to a valid one",
        ),
      );
    }
    return next(call);
  };
}
