import type { AdminServiceServer } from "../../gen/hexclave/v1/admin_service.js";
import type { AdminPlane } from "../vault/admin-plane.js";
import { type HandlerDeps, unary } from "./call-context.js";
import { storeToWire, tokenToWire } from "./wire-views.js";

/**
 * hexclave.v1.AdminService over the admin plane: each handler only
 * translates messages; the logic and every check live in the vault.
 */
export function adminServiceHandlers(deps: HandlerDeps, admin: AdminPlane): AdminServiceServer {
  const name = "hexclave.v1.AdminService";
  return {
    createStore: unary(deps, `${name}/CreateStore`, async (req, ctx) => ({
      store: storeToWire(await admin.createStore(ctx.caller, req)),
    })),
    getStore: unary(deps, `${name}/GetStore`, async (req, ctx) => ({
      store: storeToWire(await admin.getStore(ctx.caller, req.storeId)),
    })),
    listStores: unary(deps, `${name}/ListStores`, async (_req, ctx) => ({
      stores: (await admin.listStores(ctx.caller)).map(storeToWire),
    })),
    deleteStore: unary(deps, `${name}/DeleteStore`, async (req, ctx) => ({
      deletedEntryCount: BigInt(
        (await admin.deleteStore(ctx.caller, req.storeId)).deletedEntryCount,
      ),
    })),
    createToken: unary(deps, `${name}/CreateToken`, async (req, ctx) => {
      const created = await admin.createToken(ctx.caller, req);
      return { token: tokenToWire(created.view), secret: created.token };
    }),
    listTokens: unary(deps, `${name}/ListTokens`, async (req, ctx) => ({
      tokens: (await admin.listTokens(ctx.caller, req.includeRevoked)).map(tokenToWire),
    })),
    revokeToken: unary(deps, `${name}/RevokeToken`, async (req, ctx) => ({
      token: tokenToWire(await admin.revokeToken(ctx.caller, req.tokenId)),
    })),
  };
}
