import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { generateSecret, HexclaveClient } from "../../src/client/index.js";
import { startClientFixture } from "../client/support/client-fixture.js";
import { describeWithPostgres, freshPostgresDatabase } from "../support/with-postgres.js";
import { bulkFill } from "./support/bulk-fill.js";
import { runCli, runCliJson, startCli } from "./support/cli.js";
import { digestAt, entryRows, waitFor } from "./support/database-digests.js";
import { type MasterKeyFile, newMasterKeyFile } from "./support/master-key-files.js";

/**
 * The acceptance test of `hexclave migrate`: a store of 100,000 real,
 * client-sealed values under two secrets goes SQLite → PostgreSQL → SQLite,
 * each leg SIGKILLed midway and finished with --resume, and at the end every
 * value opens with its secret through a real server and the SDK, with the
 * token made before the move. Nothing is opened on the way: the copy needs
 * neither the secrets nor the master key.
 */

const PER_SECRET = 50_000;
const A = generateSecret();
const B = generateSecret();

let work: string;
let mk: MasterKeyFile;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "hexclave-migrate-"));
  mk = await newMasterKeyFile(work, "master.key");
});
afterAll(() => rm(work, { recursive: true, force: true }));

/** Starts a migrate, SIGKILLs it once the target holds `killAt` entries; returns how many it holds then. */
async function killedMidway(
  args: readonly string[],
  count: () => Promise<number>,
  killAt: number,
): Promise<number> {
  const run = startCli(["migrate", ...args]);
  await waitFor(count, killAt);
  run.child.kill("SIGKILL");
  const ended = await run.done;
  expect(ended.signal, `migrate finished before it could be killed: ${ended.stderr}`).toBe(
    "SIGKILL",
  );
  return count();
}

describeWithPostgres("migrate SQLite → PostgreSQL → SQLite", () => {
  it("moves 100,000 entries under two secrets, survives SIGKILL on each leg, and every value opens with its secret", async () => {
    const source = join(work, "source");
    const final = join(work, "final");
    const total = 2 * PER_SECRET + 2;

    // A real server makes the store, registers both secrets and a store-scoped token.
    const f = await startClientFixture({ dataDir: source, masterKeyFile: mk.file });
    await f.createStore("big");
    const scoped = await f.createToken([{ storeId: "big", read: true, write: true }]);
    const setup = await f.client().getDataVaultStore("big");
    await setup.setValue("setup:a", "made under A", { secret: A });
    await setup.registerSecret({ secret: B, knownSecret: A });
    await setup.setValue("setup:b", "made under B", { secret: B });
    await f.close();
    for (const [secret, tag] of [
      [A, "a"],
      [B, "b"],
    ] as const) {
      await bulkFill({
        dataDir: source,
        masterKey: mk.key,
        storeId: "big",
        secret,
        count: PER_SECRET,
        name: (i) => `${tag}:${i}`,
        value: (i) => `value ${tag} ${i}`,
      });
    }
    const before = await digestAt({ dataDir: source });
    expect(before.entries).toBe(total);
    expect(before.audit.records).toBeGreaterThan(0);

    // SQLite → PostgreSQL, killed midway.
    const url = await freshPostgresDatabase();
    const inPostgres = () => entryRows({ databaseUrl: url });
    const partial = await killedMidway(["--from", source, "--to", url], inPostgres, 20_000);
    expect(partial).toBeLessThan(total);
    const refused = await runCli(["migrate", "--from", source, "--to", url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/is not empty: .*--resume/);
    const toPostgres = await runCliJson<{ entriesCopied: number }>([
      "migrate",
      "--from",
      source,
      "--to",
      url,
      "--resume",
    ]);
    expect(toPostgres.entriesCopied).toBe(total - partial);

    // PostgreSQL → SQLite, killed midway.
    const inFinal = () => entryRows({ dataDir: final });
    const partialBack = await killedMidway(["--from", url, "--to", final], inFinal, 20_000);
    expect(partialBack).toBeLessThan(total);
    const back = await runCliJson<{ entriesCopied: number }>([
      "migrate",
      "--from",
      url,
      "--to",
      final,
      "--resume",
    ]);
    expect(back.entriesCopied).toBe(total - partialBack);
    // Checked from outside too, not only by migrate itself: every row as it was, both legs.
    expect(await digestAt({ dataDir: final })).toEqual(before);

    // The audit chains moved whole: they still verify, record by record, under the master key.
    const audit = await runCli(["audit", "verify", "--data-dir", final], {
      HEXCLAVE_MASTER_KEY_FILE: mk.file,
    });
    expect(audit.code, audit.stderr).toBe(0);

    // A real server on the final copy: the old token works, every value opens with its secret.
    const g = await startClientFixture({ dataDir: final, masterKeyFile: mk.file });
    try {
      const client = new HexclaveClient({ address: g.server.address, token: scoped });
      const store = await client.getDataVaultStore("big");
      for (const [secret, tag] of [
        [A, "a"],
        [B, "b"],
      ] as const) {
        const seen = new Map<string, string>();
        for await (const { key, value } of store.entries({ secret })) seen.set(key, value);
        expect(seen.size).toBe(PER_SECRET + 1);
        for (let i = 0; i < PER_SECRET; i += 1) {
          if (seen.get(`${tag}:${i}`) !== `value ${tag} ${i}`) {
            throw new Error(`${tag}:${i} did not come back as written`);
          }
        }
      }
      expect(await store.getValue("setup:a", { secret: A })).toBe("made under A");
      expect(await store.getValue("setup:b", { secret: B })).toBe("made under B");
      client.close();
    } finally {
      await g.close();
    }
  }, 900_000);
});
