import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSecret } from "../../src/client/index.js";
import { type ClientFixture, startClientFixture } from "../client/support/client-fixture.js";
import { type CliResult, oneLine, runCli } from "./support/run-cli.js";

/**
 * The built CLI's client commands against a real server: secret generate,
 * set/get/delete (value from an argument or stdin, secret from the
 * environment only) and rotate-secret.
 */

let f: ClientFixture;
const secret = generateSecret();

beforeAll(async () => {
  f = await startClientFixture();
  await f.createStore("cli");
  await f.createStore("cli-rotate");
});
afterAll(() => f.close());

function hexclave(
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; input?: string | Buffer | "closed" } = {},
): Promise<CliResult> {
  return runCli(args, {
    env: {
      HEXCLAVE_ADDRESS: f.server.address,
      HEXCLAVE_TOKEN: f.server.adminToken,
      HEXCLAVE_SECRET: secret,
      ...options.env,
    },
    ...(options.input === undefined ? {} : { input: options.input }),
  });
}

function json(result: CliResult): Record<string, unknown> {
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout.toString()) as Record<string, unknown>;
}

describe("hexclave secret generate", () => {
  it("prints a new hxs_ secret, plain or as JSON", async () => {
    const plain = await hexclave(["secret", "generate"]);
    expect(plain.code).toBe(0);
    expect(plain.stdout.toString()).toMatch(/^hxs_[A-Za-z0-9_-]{43}\n$/);
    const asJson = json(await hexclave(["secret", "generate", "--json"]));
    expect(asJson.secret).toMatch(/^hxs_[A-Za-z0-9_-]{43}$/);
    expect(asJson.secret).not.toBe(plain.stdout.toString().trim());
  });
});

describe("hexclave set / get / delete", () => {
  it("sets from an argument and gets the value back with a newline", async () => {
    const set = await hexclave(["set", "cli", "gh:1", "gho_from_argument"]);
    expect(set.code).toBe(0);
    expect(set.stdout.toString()).toBe('set "gh:1" in store "cli" (version 1)\n');
    const get = await hexclave(["get", "cli", "gh:1"]);
    expect(get.code).toBe(0);
    expect(get.stdout.toString()).toBe("gho_from_argument\n");
  });

  it("sets from stdin, dropping one trailing newline, and reports versions as JSON", async () => {
    const set = json(await hexclave(["set", "cli", "gh:2", "--json"], { input: "piped value\n" }));
    expect(set).toEqual({ store: "cli", key: "gh:2", version: expect.any(Number) });
    expect(json(await hexclave(["get", "cli", "gh:2", "--json"]))).toEqual({
      store: "cli",
      key: "gh:2",
      version: (set as { version: number }).version,
      value: "piped value",
      writtenAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      expiresAt: null,
    });
  });

  it("keeps binary stdin exact, and shows it as base64 in JSON", async () => {
    const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x0a, 0x80]);
    expect(
      (await hexclave(["set", "cli", "bin", "--if-version", "0"], { input: bytes })).code,
    ).toBe(0);
    const raw = await hexclave(["get", "cli", "bin"]);
    expect(raw.stdout.equals(bytes.subarray(0, 5))).toBe(true);
    expect(json(await hexclave(["get", "cli", "bin", "--json"])).valueBase64).toBe(
      bytes.toString("base64"),
    );
  });

  it("refuses an empty or closed stdin, and an empty argument, unless --allow-empty", async () => {
    for (const input of ["", "closed"] as const) {
      const refused = await hexclave(["set", "cli", "empty"], { input });
      expect(oneLine(refused)).toBe(
        "hexclave: no value: stdin was empty or closed; pipe the value in or pass it as an argument (--allow-empty stores an empty value)",
      );
    }
    expect(oneLine(await hexclave(["set", "cli", "empty", ""]))).toContain("--allow-empty");
    expect((await hexclave(["get", "cli", "empty"])).code).toBe(1); // nothing was stored
    const allowed = await hexclave(["set", "cli", "empty", "--allow-empty"], { input: "closed" });
    expect(allowed.code).toBe(0);
    expect(json(await hexclave(["get", "cli", "empty", "--json"])).value).toBe("");
  });

  it("exits 1 with one line when the key is absent", async () => {
    const get = await hexclave(["get", "cli", "no-such-key"]);
    expect(get.code).toBe(1);
    expect(get.stdout.length).toBe(0);
    expect(get.stderr).toBe('hexclave: no value under key "no-such-key" in store "cli"\n');
  });

  it("deletes, then says there was nothing to delete", async () => {
    expect(json(await hexclave(["delete", "cli", "gh:1", "--json"]))).toEqual({
      store: "cli",
      key: "gh:1",
      deleted: true,
    });
    const again = await hexclave(["delete", "cli", "gh:1"]);
    expect(again.code).toBe(0);
    expect(again.stdout.toString()).toContain("nothing to delete");
  });

  it("takes the secret only from HEXCLAVE_SECRET, never a flag", async () => {
    const missing = await hexclave(["get", "cli", "gh:2"], { env: { HEXCLAVE_SECRET: undefined } });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^hexclave: set HEXCLAVE_SECRET .*hexclave secret generate/);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
    const flag = await hexclave(["get", "cli", "gh:2", "--secret", secret], {
      env: { HEXCLAVE_SECRET: undefined },
    });
    expect(flag.code).not.toBe(0);
    expect(flag.stderr).toContain("unknown option '--secret'");
  });

  it("reports a wrong secret and a version conflict as one line with the error code", async () => {
    const wrong = await hexclave(["get", "cli", "gh:2"], {
      env: { HEXCLAVE_SECRET: generateSecret() },
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^hexclave: UNKNOWN_SECRET: store "cli" has never seen/);
    const conflict = await hexclave(["set", "cli", "gh:2", "x", "--if-version", "9"]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/^hexclave: VERSION_CONFLICT: /);
  });

  it("has --help on every command, naming where the secret comes from", async () => {
    const commands = [["set"], ["get"], ["delete"], ["rotate-secret"]];
    const helps = await Promise.all(commands.map((c) => hexclave([...c, "--help"])));
    for (const help of helps) {
      expect(help.code).toBe(0);
      expect(help.stdout.toString()).toContain("HEXCLAVE_SECRET");
    }
    const generate = await hexclave(["secret", "generate", "--help"]);
    expect(generate.stdout.toString()).toContain("--json");
  });
});

describe("hexclave rotate-secret", () => {
  it("re-seals under HEXCLAVE_SECRET from HEXCLAVE_PREVIOUS_SECRET, with progress on stderr", async () => {
    const [oldSecret, newSecret] = [generateSecret(), generateSecret()];
    const store = await f.client().getDataVaultStore("cli-rotate");
    for (let i = 0; i < 25; i++) await store.setValue(`k${i}`, `v${i}`, { secret: oldSecret });

    const noOld = await hexclave(["rotate-secret", "cli-rotate"], {
      env: { HEXCLAVE_SECRET: newSecret },
    });
    expect(noOld.code).toBe(1);
    expect(noOld.stderr).toContain("HEXCLAVE_PREVIOUS_SECRET");

    const run = await hexclave(["rotate-secret", "cli-rotate", "--json", "--progress"], {
      env: { HEXCLAVE_SECRET: newSecret, HEXCLAVE_PREVIOUS_SECRET: oldSecret },
    });
    expect(run.code).toBe(0);
    // Not a terminal: the first report at once, then one every few seconds (rate, time left).
    expect(run.stderr).toMatch(/^0\/25 entries re-sealed \(\d+\/s\)\n/);
    expect(JSON.parse(run.stdout.toString())).toEqual({
      store: "cli-rotate",
      fromFingerprint: await store.secretFingerprint(oldSecret),
      toFingerprint: await store.secretFingerprint(newSecret),
      total: 25,
      done: 25,
      resealed: 25,
      superseded: 0,
      retired: true,
    });
    expect(await store.getValue("k7", { secret: newSecret })).toBe("v7");
  });
});
