import type { VaultServiceServer } from "../../gen/hexclave/v1/vault_service.js";
import type { DataPlane } from "../vault/data-plane.js";
import { method, type Pipeline, streamMethod, unaryMethod } from "./grpc-method.js";
import { entryToWire, storeToWire } from "./wire-views.js";

const SERVICE = "hexclave.v1.VaultService";

/**
 * hexclave.v1.VaultService over the data plane: each handler only translates
 * messages; the logic and every check live in the vault, and every call runs
 * through the pipeline's interceptors.
 */
export function vaultServiceHandlers(
  pipeline: Pipeline,
  data: () => DataPlane,
): VaultServiceServer {
  const unary = <Req, Res>(name: string, handler: Parameters<typeof unaryMethod<Req, Res>>[2]) =>
    unaryMethod(pipeline, method(SERVICE, name), handler);
  return {
    describeStore: unary("DescribeStore", async (req, ctx) => ({
      store: storeToWire(await data().describeStore(ctx.caller, req.storeId)),
    })),
    getValue: unary("GetValue", async (req, ctx) => {
      const entry = await data().getValue(ctx.caller, req);
      return { entry: entry === undefined ? undefined : entryToWire(entry) };
    }),
    setValue: unary("SetValue", async (req, ctx) => ({
      version: BigInt((await data().setValue(ctx.caller, req, ctx)).version),
    })),
    deleteValue: unary("DeleteValue", (req, ctx) => data().deleteValue(ctx.caller, req, ctx)),
    batchGetValues: unary("BatchGetValues", async (req, ctx) => ({
      entries: (await data().batchGetValues(ctx.caller, req)).map(entryToWire),
    })),
    listEntries: streamMethod(
      pipeline,
      method(SERVICE, "ListEntries", "serverStream"),
      async function* (req, ctx) {
        for await (const page of data().listEntries(ctx.caller, req, ctx.signal)) {
          yield { entries: page.map(entryToWire) };
        }
      },
    ),
    registerSecret: unary("RegisterSecret", async (req, ctx) => ({
      store: storeToWire(await data().registerSecret(ctx.caller, req, ctx)),
    })),
    retireSecret: unary("RetireSecret", async (req, ctx) => ({
      store: storeToWire(await data().retireSecret(ctx.caller, req, ctx)),
    })),
  };
}
