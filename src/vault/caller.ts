import type { GrantRow } from "./storage-port.js";
import { VaultError } from "./vault-error.js";

/** Who is calling, as established from their access token. */
export interface Caller {
  /** The token's id; never its secret part. */
  readonly tokenId: string;
  readonly admin: boolean;
  /** Access by store id, for tokens that are not admin. */
  readonly grants: ReadonlyMap<string, GrantRow>;
}

/** The two kinds of access a token may have to a store. */
export type Access = "read" | "write";

/**
 * Builds a caller from a token's grants.
 *
 * @example
 * const caller = callerOf("3f2a…", false, [{ storeId: "oauth-tokens", read: true, write: false }]);
 */
export function callerOf(tokenId: string, admin: boolean, grants: readonly GrantRow[]): Caller {
  return Object.freeze({
    tokenId,
    admin,
    grants: new Map(grants.map((g) => [g.storeId, g])),
  });
}

/**
 * Asserts the caller may `access` the store. Checked before the store is
 * looked up, so the answer is the same whether or not the store exists and a
 * token cannot probe for store names.
 *
 * @throws VaultError PERMISSION_DENIED.
 */
export function requireAccess(caller: Caller, storeId: string, access: Access): void {
  if (caller.admin) return;
  const grant = caller.grants.get(storeId);
  if (grant?.[access] === true) return;
  throw new VaultError(
    "PERMISSION_DENIED",
    `this token has no ${access} access to store "${storeId}": ask an admin for a token that grants it`,
    { metadata: { store_id: storeId, access } },
  );
}

/**
 * Asserts the caller holds an admin token.
 *
 * @throws VaultError PERMISSION_DENIED.
 */
export function requireAdmin(caller: Caller): void {
  if (caller.admin) return;
  throw new VaultError("PERMISSION_DENIED", "this call needs an admin token", {
    metadata: { access: "admin" },
  });
}
