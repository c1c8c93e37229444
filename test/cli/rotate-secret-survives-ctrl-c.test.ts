import { afterAll, beforeAll, expect, it } from "vitest";
import { type DataVaultStore, generateSecret } from "../../src/client/index.js";
import { type ClientFixture, startClientFixture } from "../client/support/client-fixture.js";
import { bearer, call } from "../support/grpc-clients.js";
import { runCli } from "./support/run-cli.js";

/**
 * `hexclave rotate-secret` interrupted by Ctrl-C (SIGINT) halfway: it says how
 * far it got and that running it again resumes; run again, it finishes the
 * rest, and every value reads back under the new secret.
 */

const ENTRIES = 800;
const [oldSecret, newSecret] = [generateSecret(), generateSecret()];
let f: ClientFixture;
let store: DataVaultStore;

beforeAll(async () => {
  f = await startClientFixture();
  await f.createStore("rotating");
  store = await f.client().getDataVaultStore("rotating");
  for (let i = 0; i < ENTRIES; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, (_, j) =>
        store.setValue(`k${i + j}`, `v${i + j}`, { secret: oldSecret }),
      ),
    );
  }
});
afterAll(() => f.close());

/** Entries sealed under `secret`, as the server counts them. */
async function countUnder(secret: string): Promise<number> {
  const fingerprint = Buffer.from(await store.secretFingerprint(secret), "hex");
  const { store: described } = await call(
    f.raw.vault,
    f.raw.vault.describeStore,
    { storeId: "rotating" },
    bearer(f.server.adminToken),
  );
  const found = described?.secrets.find((s) => s.fingerprint.equals(fingerprint));
  return Number(found?.entryCount ?? 0);
}

it("stops on Ctrl-C saying how far it got, and finishes when run again", async () => {
  const env = {
    HEXCLAVE_ADDRESS: f.server.address,
    HEXCLAVE_TOKEN: f.server.adminToken,
    HEXCLAVE_SECRET: newSecret,
    HEXCLAVE_PREVIOUS_SECRET: oldSecret,
  };
  let interruptedAt = 0;
  const first = await runCli(["rotate-secret", "rotating", "--concurrency", "1", "--progress"], {
    env,
    started: (child) => {
      // Once some entries have moved (the server says so), press Ctrl-C.
      void (async () => {
        while (interruptedAt < 20) interruptedAt = await countUnder(newSecret);
        child.kill("SIGINT");
      })();
    },
  });
  expect(first.code).toBe(130);
  const lines = first.stderr.trim().split("\n");
  // The first progress report (rate; time left once there is a rate), then the one line.
  expect(lines[0]).toMatch(/^0\/800 entries re-sealed \(\d+\/s\)$/);
  const last = lines.at(-1) as string;
  const match =
    /^hexclave: interrupted: (\d+) of 800 entries of store "rotating" re-sealed \(\d+\/s\); every entry is wholly under the old secret or the new one, so nothing is lost: run the same command again to resume where it stopped$/.exec(
      last,
    );
  expect(match).not.toBeNull();
  const done = Number(match?.[1]);
  expect(done).toBeGreaterThanOrEqual(interruptedAt);
  expect(done).toBeLessThan(ENTRIES);
  // What it said is what happened (give or take the write in flight when it stopped).
  const moved = await countUnder(newSecret);
  expect(moved).toBeGreaterThanOrEqual(done);
  expect(moved).toBeLessThanOrEqual(done + 1);
  expect(moved + (await countUnder(oldSecret))).toBe(ENTRIES);

  const second = await runCli(["rotate-secret", "rotating", "--json"], { env });
  expect(second.code).toBe(0);
  const summary = JSON.parse(second.stdout.toString()) as Record<string, number | boolean>;
  expect(summary).toMatchObject({
    total: ENTRIES - moved,
    resealed: ENTRIES - moved,
    retired: true,
  });
  for (const i of [0, 399, 799]) {
    expect(await store.getValue(`k${i}`, { secret: newSecret })).toBe(`v${i}`);
  }
});
