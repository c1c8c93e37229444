import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type DataVaultStore,
  generateSecret,
  HexclaveError,
  type UnavailableError,
} from "../../src/client/index.js";
import { type ClientFixture, startClientFixture } from "./support/client-fixture.js";
import { type ReplyCuttingProxy, replyCuttingProxy } from "./support/reply-cutting-proxy.js";

/**
 * A call whose answer is lost after the server acted on it — the case a
 * restart, a crash or a broken connection makes — is retried only if a
 * second try cannot apply it twice: reads, `ifVersion` writes (their first
 * try, if applied, is found by reading the entry back), never plain writes.
 * Every write here is counted through versions: each write in a store takes
 * exactly the next one, so a write applied twice would use two.
 */

const secret = generateSecret();
let f: ClientFixture;
let proxy: ReplyCuttingProxy;
/** Through the proxy, with the default retry policy. */
let cut: DataVaultStore;
/** Straight to the server, to look at what was stored. */
let direct: DataVaultStore;

const STORE = "cut-offs";
const marker = Buffer.from(STORE);

beforeAll(async () => {
  f = await startClientFixture();
  await f.createStore(STORE);
  proxy = await replyCuttingProxy(f.server.address);
  cut = await f.client({ address: proxy.address }).getDataVaultStore(STORE);
  direct = await f.client().getDataVaultStore(STORE);
});
afterAll(async () => {
  await proxy.close();
  await f.close();
});

/** The store's last version: one more write takes the next. */
async function lastVersion(): Promise<number> {
  const { version } = await direct.setValue("version-probe", "x", { secret });
  return version - 1;
}

async function failure(attempt: Promise<unknown>): Promise<HexclaveError> {
  const error = await attempt.then(
    (value) => ({ resolvedWith: value }),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HexclaveError);
  return error as HexclaveError;
}

describe("an answer lost after the server acted", () => {
  it("an ifVersion write is retried, finds its own write by reading back, and resolves with its version", async () => {
    const { version: start } = await direct.setValue("cas", "v0", { secret });
    const lost = proxy.cutAfter(marker);
    const { version } = await cut.setValue("cas", "v1", { secret, ifVersion: start });
    await lost;
    expect(version).toBe(start + 1);
    expect(await direct.getEntry("cas", { secret })).toMatchObject({ value: "v1", version });
    expect(await lastVersion()).toBe(version); // applied once
  });

  it("an ifVersion write overwritten before its retry reports the conflict, saying why", async () => {
    const { version: start } = await direct.setValue("cas-lost", "v0", { secret });
    const lost = proxy.cutAfter(marker, async () => {
      await direct.setValue("cas-lost", "someone else", { secret });
    });
    const e = await failure(cut.setValue("cas-lost", "mine", { secret, ifVersion: start }));
    await lost;
    expect(e.code).toBe("VERSION_CONFLICT");
    expect((e as unknown as { currentVersion: number }).currentVersion).toBe(start + 2);
    expect(e.message).toContain("an earlier try of this call was cut off");
    expect(await direct.getValue("cas-lost", { secret })).toBe("someone else");
  });

  it("a plain write is not resent: it fails UNAVAILABLE, says it may have been applied, and was applied once", async () => {
    const before = await lastVersion();
    const lost = proxy.cutAfter(marker);
    const e = await failure(cut.setValue("plain", "once", { secret }));
    await lost;
    expect(e.code).toBe("UNAVAILABLE");
    expect((e as UnavailableError).mayHaveBeenApplied).toBe(true);
    expect(e.message).toContain("may have been applied: read the entry back");
    expect(e.message).not.toMatch(/Resolution note|Connection dropped/);
    // The probe in lastVersion() took before+1; the cut write took before+2, and nothing else did.
    expect(await direct.getEntry("plain", { secret })).toMatchObject({
      value: "once",
      version: before + 2,
    });
    expect(await lastVersion()).toBe(before + 2);
  });

  it("an ifVersion delete is retried and resolves true once the entry is gone", async () => {
    const { version } = await direct.setValue("doomed", "x", { secret });
    const lost = proxy.cutAfter(marker);
    expect(await cut.deleteValue("doomed", { secret, ifVersion: version })).toBe(true);
    await lost;
    expect(await direct.getValue("doomed", { secret })).toBeNull();
  });

  it("a plain delete is not resent", async () => {
    await direct.setValue("doomed-plain", "x", { secret });
    const lost = proxy.cutAfter(marker);
    const e = await failure(cut.deleteValue("doomed-plain", { secret }));
    await lost;
    expect((e as UnavailableError).mayHaveBeenApplied).toBe(true);
    expect(await direct.getValue("doomed-plain", { secret })).toBeNull();
  });

  it("a read is retried and answers", async () => {
    await direct.setValue("read-me", "still here", { secret });
    const lost = proxy.cutAfter(marker);
    expect(await cut.getValue("read-me", { secret })).toBe("still here");
    await lost;
  });

  it("would notice: without retries the ifVersion write fails, though it was applied", async () => {
    const once = await f.client({ address: proxy.address, retry: false }).getDataVaultStore(STORE);
    const { version: start } = await direct.setValue("cas-no-retry", "v0", { secret });
    const lost = proxy.cutAfter(marker);
    const e = await failure(once.setValue("cas-no-retry", "v1", { secret, ifVersion: start }));
    await lost;
    expect(e.code).toBe("UNAVAILABLE");
    expect((e as UnavailableError).mayHaveBeenApplied).toBe(true);
    expect(await direct.getValue("cas-no-retry", { secret })).toBe("v1");
  });
});
