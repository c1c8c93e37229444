import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSecret, HexclaveClient } from "../../src/client/index.js";
import { type ClientFixture, startClientFixture } from "../client/support/client-fixture.js";
import { runCli } from "./support/cli.js";
import { digestAt } from "./support/database-digests.js";
import { type MasterKeyFile, newMasterKeyFile } from "./support/master-key-files.js";

/**
 * Threat: a migrate that copies a database while a server goes on writing
 * to it, and leaves writes acknowledged after the copy read its rows behind
 * (lost on the switch); or one that writes into a database a server is
 * serving from. Both are refused before anything is written; the operator
 * can knowingly copy one consistent moment of a live source.
 */

const secret = generateSecret();
let work: string;
let mk: MasterKeyFile;
let live: ClientFixture;
const liveDir = () => join(work, "live");

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "hexclave-migrate-live-"));
  mk = await newMasterKeyFile(work, "master.key");
  live = await startClientFixture({ dataDir: liveDir(), masterKeyFile: mk.file });
  await live.createStore("busy");
  const store = await live.client().getDataVaultStore("busy");
  await store.setValue("k", "written before the copy", { secret });
});
afterAll(async () => {
  await live.close();
  await rm(work, { recursive: true, force: true });
});

describe("migrate beside a running server", () => {
  it("refuses a source a server is using, writing nothing, and says how to proceed", async () => {
    const target = join(work, "refused");
    const run = await runCli(["migrate", "--from", liveDir(), "--to", target]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^hexclave: a Hexclave server is running on the data directory .*: stop it first, .*--allow-live-source/,
    );
    await expect(readdir(target)).rejects.toThrow(/ENOENT/);
  });

  it("with --allow-live-source copies one consistent moment, which a server then serves", async () => {
    const target = join(work, "moment");
    const run = await runCli([
      "migrate",
      "--from",
      liveDir(),
      "--to",
      target,
      "--allow-live-source",
    ]);
    expect(run.code, run.stderr).toBe(0);
    const copy = await startClientFixture({ dataDir: target, masterKeyFile: mk.file });
    try {
      const client = new HexclaveClient({
        address: copy.server.address,
        token: copy.server.adminToken,
      });
      const store = await client.getDataVaultStore("busy");
      expect(await store.getValue("k", { secret })).toBe("written before the copy");
      client.close();
    } finally {
      await copy.close();
    }
  });

  it("refuses a target a server is using, and leaves it as it was", async () => {
    const stopped = join(work, "stopped");
    const other = await startClientFixture({ dataDir: stopped, masterKeyFile: mk.file });
    await other.createStore("elsewhere");
    await other.close();
    const before = await digestAt({ dataDir: liveDir() });
    const run = await runCli(["migrate", "--from", stopped, "--to", liveDir()]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /a Hexclave server is running on the data directory .*: stop it first/,
    );
    expect(await digestAt({ dataDir: liveDir() })).toEqual(before);
  });
});
