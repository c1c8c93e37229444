import type { AdminServiceServer } from "../../gen/hexclave/v1/admin_service.js";
import type { AdminPlane } from "../vault/admin-plane.js";
import { method, type Pipeline, unaryMethod } from "./grpc-method.js";
import { storeToWire, tokenToWire } from "./wire-views.js";

const SERVICE = "hexclave.v1.AdminService";

/**
 * hexclave.v1.AdminService over the admin plane: each handler only
 * translates messages; the logic and every check live in the vault, and
 * every call runs through the pipeline's interceptors.
 */
export function adminServiceHandlers(
  pipeline: Pipeline,
  admin: () => AdminPlane,
): AdminServiceServer {
  const unary = <Req, Res>(name: string, handler: Parameters<typeof unaryMethod<Req, Res>>[2]) =>
    unaryMethod(pipeline, method(SERVICE, name), handler);
  return {
    createStore: unary("CreateStore", async (req, ctx) => ({
      store: storeToWire(await admin().createStore(ctx.caller, req, ctx)),
    })),
    getStore: unary("GetStore", async (req, ctx) => ({
      store: storeToWire(await admin().getStore(ctx.caller, req.storeId)),
    })),
    listStores: unary("ListStores", async (_req, ctx) => ({
      stores: (await admin().listStores(ctx.caller)).map(storeToWire),
    })),
    deleteStore: unary("DeleteStore", async (req, ctx) => ({
      deletedEntryCount: BigInt(
        (await admin().deleteStore(ctx.caller, req.storeId, ctx)).deletedEntryCount,
      ),
    })),
    createToken: unary("CreateToken", async (req, ctx) => {
      const created = await admin().createToken(ctx.caller, req, ctx);
      return { token: tokenToWire(created.view), secret: created.token };
    }),
    listTokens: unary("ListTokens", async (req, ctx) => ({
      tokens: (await admin().listTokens(ctx.caller, req.includeRevoked)).map(tokenToWire),
    })),
    revokeToken: unary("RevokeToken", async (req, ctx) => ({
      token: tokenToWire(await admin().revokeToken(ctx.caller, req.tokenId, ctx)),
    })),
  };
}
