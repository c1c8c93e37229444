import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSecret, HexclaveClient } from "../../src/client/index.js";
import { type ClientFixture, startClientFixture } from "../client/support/client-fixture.js";
import { type CliResult, runCli } from "./support/run-cli.js";

/**
 * Lifetimes from the command line (`set --ttl`, `tokens create --ttl`), shown
 * back by `get --json` and `tokens list`, and the `--store` grammar: `ID:rw`
 * as `tokens list` prints it, and a warning for a store that does not exist.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
let f: ClientFixture;
let env: Record<string, string>;

beforeAll(async () => {
  f = await startClientFixture();
  await f.createStore("lifetimes");
  env = {
    HEXCLAVE_ADDRESS: f.server.address,
    HEXCLAVE_TOKEN: f.server.adminToken,
    HEXCLAVE_SECRET: generateSecret(),
  };
});
afterAll(() => f.close());

function json<T>(result: CliResult): T {
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout.toString()) as T;
}

/** Whether `iso` is `ms` after `from`, give or take a minute of test run time. */
function about(iso: string, from: number, ms: number): boolean {
  return Math.abs(Date.parse(iso) - (from + ms)) < 60_000;
}

describe("hexclave set --ttl and get --json", () => {
  it("sets an entry that expires, and get --json shows when; without --ttl it never does", async () => {
    const now = Date.now();
    const set = json<{ version: number; expiresAt: string }>(
      await runCli(["set", "lifetimes", "short", "v", "--ttl", "1h", "--json"], { env }),
    );
    expect(about(set.expiresAt, now, HOUR)).toBe(true);
    const got = json<{ expiresAt: string | null; writtenAt: string; version: number }>(
      await runCli(["get", "lifetimes", "short", "--json"], { env }),
    );
    expect(got.version).toBe(set.version);
    // The server's clock decides; it says the same time as the client within a minute here.
    expect(about(got.expiresAt as string, now, HOUR)).toBe(true);
    expect(about(got.writtenAt, now, 0)).toBe(true);

    await runCli(["set", "lifetimes", "forever", "v"], { env });
    const forever = json<{ expiresAt: string | null }>(
      await runCli(["get", "lifetimes", "forever", "--json"], { env }),
    );
    expect(forever.expiresAt).toBeNull();
  });

  it("takes every unit", async () => {
    const now = Date.now();
    for (const [ttl, ms] of [
      ["90s", 90_000],
      ["15m", 15 * 60_000],
      ["30d", 30 * DAY],
    ] as const) {
      await runCli(["set", "lifetimes", `unit-${ttl}`, "v", "--ttl", ttl], { env });
      const got = json<{ expiresAt: string }>(
        await runCli(["get", "lifetimes", `unit-${ttl}`, "--json"], { env }),
      );
      expect(about(got.expiresAt, now, ms)).toBe(true);
    }
  });
});

describe("hexclave tokens", () => {
  interface TokenJson {
    id: string;
    token: string;
    grants: { storeId: string; read: boolean; write: boolean }[];
    expireTime?: string;
    lastUseTime?: string;
  }

  it("--store ID:rw grants what tokens list shows as ID:rw; --ttl sets when it expires", async () => {
    const now = Date.now();
    const made = json<TokenJson>(
      await runCli(
        ["tokens", "create", "--name", "rw", "--store", "lifetimes:rw", "--ttl", "30d", "--json"],
        { env },
      ),
    );
    expect(made.grants).toEqual([{ storeId: "lifetimes", read: true, write: true }]);
    expect(about(made.expireTime as string, now, 30 * DAY)).toBe(true);

    // Used once: tokens list shows when, and when it expires.
    const client = new HexclaveClient({ address: f.server.address, token: made.token });
    await client.getDataVaultStore("lifetimes");
    client.close();
    const listed = json<TokenJson[]>(await runCli(["tokens", "list", "--json"], { env }));
    const mine = listed.find((t) => t.id === made.id) as TokenJson;
    expect(mine.expireTime).toBe(made.expireTime);
    expect(about(mine.lastUseTime as string, Date.now(), 0)).toBe(true);

    const table = (await runCli(["tokens", "list"], { env })).stdout.toString().split("\n");
    expect(table[0]).toMatch(/LAST USED\s+EXPIRES/);
    const row = table.find((line) => line.startsWith(made.id)) as string;
    expect(row).toContain("lifetimes:rw");
    expect(row).toContain((made.expireTime as string).replace(/\.\d{3}Z$/, "Z"));
  });

  it("warns when a granted store does not exist, and still creates the token", async () => {
    const r = await runCli(
      ["tokens", "create", "--name", "typo", "--store", "lifetmies:read", "--json"],
      { env },
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      'hexclave: warning: store "lifetmies" does not exist: the token can use it once it is created (hexclave stores create lifetmies); check the id for a typo\n',
    );
    expect((JSON.parse(r.stdout.toString()) as TokenJson).grants).toEqual([
      { storeId: "lifetmies", read: true, write: false },
    ]);
    const existing = await runCli(
      ["tokens", "create", "--name", "ok", "--store", "lifetimes", "--json"],
      { env },
    );
    expect(existing.stderr).toBe("");
  });

  it("refuses a malformed --store or --ttl without creating anything", async () => {
    const before = json<TokenJson[]>(await runCli(["tokens", "list", "--json"], { env })).length;
    for (const args of [
      ["--store", "lifetimes:readwrite"],
      ["--store", "lifetimes", "--ttl", "forever"],
    ]) {
      const r = await runCli(["tokens", "create", "--name", "bad", ...args], { env });
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
    expect(json<TokenJson[]>(await runCli(["tokens", "list", "--json"], { env }))).toHaveLength(
      before,
    );
  });
});
