import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { serverFleet, stop, tempDataDir } from "../support/server-control.js";
import { type CliResult, runCli } from "./support/run-cli.js";

/**
 * An admin replaces the bootstrap admin token — the operator's
 * HEXCLAVE_ADMIN_TOKEN, or the first start's admin.token — with one of its
 * own and revokes it, all through the CLI: the bootstrap token is refused
 * from then on, and a restart (with HEXCLAVE_ADMIN_TOKEN still set to the
 * same value) does not bring it back.
 */

interface Listed {
  id: string;
  name: string;
  admin: boolean;
  revokeTime?: string;
}

function json<T>(result: CliResult): T {
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout.toString()) as T;
}

describe("replacing and revoking the bootstrap admin token", () => {
  const fleet = serverFleet();
  afterAll(() => fleet.cleanup());

  /** Creates an admin token with `bootstrap`, revokes `bootstrap` (listed as `name`) with it. */
  async function replace(address: string, bootstrap: string, name: string): Promise<string> {
    const as = (token: string) => ({ env: { HEXCLAVE_ADDRESS: address, HEXCLAVE_TOKEN: token } });
    const made = json<{ token: string }>(
      await runCli(["tokens", "create", "--name", "ops-admin", "--admin", "--json"], as(bootstrap)),
    );
    const listed = json<Listed[]>(await runCli(["tokens", "list", "--json"], as(made.token)));
    const old = listed.find((t) => t.name === name) as Listed;
    expect(old).toMatchObject({ admin: true });
    expect(
      json<Listed>(await runCli(["tokens", "revoke", old.id, "--json"], as(made.token))).revokeTime,
    ).toEqual(expect.any(String));
    return made.token;
  }

  async function expectRefused(
    address: string,
    token: string,
    why = /^hexclave: UNAUTHENTICATED: this access token was revoked/,
  ): Promise<void> {
    const r = await runCli(["stores", "list"], {
      env: { HEXCLAVE_ADDRESS: address, HEXCLAVE_TOKEN: token },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(why);
  }

  async function expectAccepted(address: string, token: string): Promise<void> {
    json(
      await runCli(["stores", "list", "--json"], {
        env: { HEXCLAVE_ADDRESS: address, HEXCLAVE_TOKEN: token },
      }),
    );
  }

  it("HEXCLAVE_ADMIN_TOKEN: revoked, it stays refused after a restart with the same value", async () => {
    const bootstrap = randomBytes(32).toString("base64");
    const env = {
      HEXCLAVE_DATA_DIR: fleet.track(await tempDataDir("hexclave-bootstrap-env-")),
      HEXCLAVE_ADMIN_TOKEN: bootstrap,
    };
    const first = await fleet.start(env);
    const replacement = await replace(first.address, bootstrap, "HEXCLAVE_ADMIN_TOKEN");
    await expectRefused(first.address, bootstrap);
    await expectAccepted(first.address, replacement);

    await stop(first, "SIGTERM");
    const second = await fleet.start({ ...env, HEXCLAVE_LISTEN: first.address });
    await expectRefused(second.address, bootstrap);
    await expectAccepted(second.address, replacement);
    const all = json<Listed[]>(
      await runCli(["tokens", "list", "--all", "--json"], {
        env: { HEXCLAVE_ADDRESS: second.address, HEXCLAVE_TOKEN: replacement },
      }),
    );
    expect(all.filter((t) => t.name === "HEXCLAVE_ADMIN_TOKEN")).toEqual([
      expect.objectContaining({ revokeTime: expect.any(String) }),
    ]);

    // A new value is a new token: the operator can always get back in from the server's side.
    const fresh = randomBytes(32).toString("base64");
    await stop(second, "SIGTERM");
    const third = await fleet.start({ ...env, HEXCLAVE_ADMIN_TOKEN: fresh });
    await expectAccepted(third.address, fresh);
    await expectRefused(third.address, bootstrap, /^hexclave: UNAUTHENTICATED: /);
  });

  it("the first start's admin.token: revoked, it stays refused and no new one is made", async () => {
    const dataDir = fleet.track(await tempDataDir("hexclave-bootstrap-file-"));
    const first = await fleet.start({ HEXCLAVE_DATA_DIR: dataDir });
    const bootstrap = (await readFile(join(dataDir, "admin.token"), "utf8")).trim();
    const replacement = await replace(first.address, bootstrap, "bootstrap-admin");
    await expectRefused(first.address, bootstrap);

    await stop(first, "SIGTERM");
    const second = await fleet.start({
      HEXCLAVE_DATA_DIR: dataDir,
      HEXCLAVE_LISTEN: first.address,
    });
    await expectRefused(second.address, bootstrap);
    await expectAccepted(second.address, replacement);
    // The file still holds the old, revoked token: no new first token was made.
    expect((await readFile(join(dataDir, "admin.token"), "utf8")).trim()).toBe(bootstrap);
  });
});
