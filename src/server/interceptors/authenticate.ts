import type { Authenticator } from "../../vault/authenticator.js";

/** What authentication needs of the vault. */
type Authenticates = Pick<Authenticator, "authenticate">;

import { isVaultError, VaultError } from "../../vault/vault-error.js";
import type { Interceptor } from "../call-pipeline.js";
import { tokenIdOf } from "../token-id.js";

/**
 * Establishes who is calling from the `authorization` metadata, before
 * anything looks at the request. When grpc-js dropped the header for
 * characters gRPC does not allow (a tab or a non-breaking space after
 * "Bearer", a line break), the refusal says so instead of "no access token".
 *
 * @example
 * chain([observe, authenticate(vault.authenticator)], handler);
 */
export function authenticate(authenticator: Authenticates): Interceptor {
  return (next) => async (call) => {
    const header = call.metadata.get("authorization")[0];
    const authorization = typeof header === "string" ? header : undefined;
    call.presentedTokenId = tokenIdOf(authorization);
    try {
      call.caller = await authenticator.authenticate(authorization);
    } catch (error) {
      if (
        authorization === undefined &&
        isVaultError(error) &&
        error.reason === "TOKEN_MISSING" &&
        call.droppedHeaders.includes("authorization")
      ) {
        throw new VaultError(
          "TOKEN_INVALID",
          'the "authorization" metadata has characters gRPC does not allow (a tab, a non-breaking space, a line break?) and was dropped: send "Bearer <token>" with plain ASCII spaces',
        );
      }
      throw error;
    }
    return next(call);
  };
}
