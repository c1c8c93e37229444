import type { VaultServiceServer } from "../../gen/hexclave/v1/vault_service.js";
import type { DataPlane } from "../vault/data-plane.js";
import { type HandlerDeps, serverStream, unary } from "./call-context.js";
import { entryToWire, storeToWire } from "./wire-views.js";

/**
 * hexclave.v1.VaultService over the data plane: each handler only translates
 * messages; the logic and every check live in the vault.
 */
export function vaultServiceHandlers(deps: HandlerDeps, data: DataPlane): VaultServiceServer {
  const name = "hexclave.v1.VaultService";
  return {
    describeStore: unary(deps, `${name}/DescribeStore`, async (req, ctx) => ({
      store: storeToWire(await data.describeStore(ctx.caller, req.storeId)),
    })),
    getValue: unary(deps, `${name}/GetValue`, async (req, ctx) => {
      const entry = await data.getValue(ctx.caller, req);
      return { entry: entry === undefined ? undefined : entryToWire(entry) };
    }),
    setValue: unary(deps, `${name}/SetValue`, async (req, ctx) => ({
      version: BigInt((await data.setValue(ctx.caller, req)).version),
    })),
    deleteValue: unary(deps, `${name}/DeleteValue`, (req, ctx) =>
      data.deleteValue(ctx.caller, req),
    ),
    batchGetValues: unary(deps, `${name}/BatchGetValues`, async (req, ctx) => ({
      entries: (await data.batchGetValues(ctx.caller, req)).map(entryToWire),
    })),
    listEntries: serverStream(deps, `${name}/ListEntries`, async function* (req, ctx) {
      for await (const page of data.listEntries(ctx.caller, req, ctx.signal)) {
        yield { entries: page.map(entryToWire) };
      }
    }),
    registerSecret: unary(deps, `${name}/RegisterSecret`, async (req, ctx) => ({
      store: storeToWire(await data.registerSecret(ctx.caller, req)),
    })),
    retireSecret: unary(deps, `${name}/RetireSecret`, async (req, ctx) => ({
      store: storeToWire(await data.retireSecret(ctx.caller, req)),
    })),
  };
}
