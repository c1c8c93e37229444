import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Entry } from "../../gen/hexclave/v1/types.js";
import type {
  BatchGetValuesResponse,
  GetValueResponse,
} from "../../gen/hexclave/v1/vault_service.js";
import {
  type DataVaultStore,
  DECRYPTION_FAILED_MESSAGE,
  generateSecret,
} from "../../src/client/index.js";
import { type ClientFixture, startClientFixture } from "./support/client-fixture.js";
import {
  type RewritingVaultProxy,
  startRewritingVaultProxy,
} from "./support/rewriting-vault-proxy.js";

/**
 * A server asked for "gh:1" answers with the genuine entry of "gh:2", under
 * gh:2's own key id. Opened under the id the server names, it would open
 * cleanly (the sealed name hashes to that id), and the caller would get
 * another user's token. The client opens only under the key id it computed
 * from the name it asked for, and refuses an entry under an id it did not ask
 * for (docs/sealing.md §8, "Which key_id"), with the one fixed message.
 */

const secret = generateSecret();
let f: ClientFixture;
let proxy: RewritingVaultProxy;
let store: DataVaultStore;
/** gh:2's entry as the server returned it, once seen through the proxy. */
let other: Entry | undefined;

beforeAll(async () => {
  f = await startClientFixture();
  await f.createStore("answers");
  const honest = await f.client().getDataVaultStore("answers");
  await honest.setValue("gh:1", "alice's token", { secret });
  await honest.setValue("gh:2", "mallory's token", { secret });
  proxy = await startRewritingVaultProxy(f.server.address, (method, response) => {
    if (method === "getValue") {
      const { entry } = response as GetValueResponse;
      if (other === undefined) other = entry; // the first read is gh:2's: keep it
      return { entry: other };
    }
    if (method === "batchGetValues") {
      return { entries: other === undefined ? [] : [other] } satisfies BatchGetValuesResponse;
    }
    return response;
  });
  store = await f.client({ address: proxy.address }).getDataVaultStore("answers");
  expect(await store.getValue("gh:2", { secret })).toBe("mallory's token");
});
afterAll(async () => {
  await proxy.close();
  await f.close();
});

describe("an answer carrying another key's genuine entry", () => {
  it.each([
    ["getValue", () => store.getValue("gh:1", { secret })],
    ["getEntry", () => store.getEntry("gh:1", { secret })],
    ["getValues", () => store.getValues(["gh:1"], { secret })],
  ])("is refused by %s, never returned as the asked key's value", async (_, read) => {
    const outcome = await read().then(
      (value) => ({ value }),
      (e: unknown) => e,
    );
    expect(outcome).toMatchObject({
      name: "DecryptionError",
      code: "DECRYPTION_FAILED",
      message: DECRYPTION_FAILED_MESSAGE,
    });
    expect(other?.keyId).toHaveLength(32); // the swap did happen
  });
});
