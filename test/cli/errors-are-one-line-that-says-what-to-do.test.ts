import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSecret } from "../../src/client/index.js";
import { type ClientFixture, startClientFixture } from "../client/support/client-fixture.js";
import { oneLine, runCli } from "./support/run-cli.js";

/**
 * Every CLI failure is one line on stderr that says what to do next, in the
 * user's terms: the variable they set, the address they dialled, the command
 * that fixes it — never grpc-js internals, never the whole help.
 */

let f: ClientFixture;
let env: Record<string, string>;

beforeAll(async () => {
  f = await startClientFixture();
  await f.createStore("present");
  env = {
    HEXCLAVE_ADDRESS: f.server.address,
    HEXCLAVE_TOKEN: f.server.adminToken,
    HEXCLAVE_SECRET: generateSecret(),
  };
});
afterAll(() => f.close());

/** A port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

describe("usage", () => {
  it("--version prints the package's version", async () => {
    const { version } = JSON.parse(
      readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
    ) as { version: string };
    for (const flag of ["--version", "-V"]) {
      const r = await runCli([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout.toString()).toBe(`${version}\n`);
    }
  });

  it("an unknown option, command or a missing argument is one line and where to read more", async () => {
    expect(oneLine(await runCli(["get", "present", "k", "--bogus"], { env }))).toBe(
      `hexclave: unknown option '--bogus' (see "hexclave get --help")`,
    );
    expect(oneLine(await runCli(["tokens", "list", "--nmae", "x"], { env }))).toBe(
      `hexclave: unknown option '--nmae' (see "hexclave tokens list --help")`,
    );
    expect(oneLine(await runCli(["tokens", "create", "--admin"], { env }))).toBe(
      `hexclave: required option '--name <name>' not specified (see "hexclave tokens create --help")`,
    );
    expect(oneLine(await runCli(["bogus"], { env }))).toBe(
      `hexclave: unknown command 'bogus' (see "hexclave --help")`,
    );
    expect(oneLine(await runCli(["get", "present"], { env }))).toBe(
      `hexclave: missing required argument 'key' (see "hexclave get --help")`,
    );
  });
});

describe("errors from the server, or from not reaching it", () => {
  it("UNAVAILABLE is a plain sentence with the address, from data and admin commands alike", async () => {
    const address = `127.0.0.1:${await closedPort()}`;
    for (const args of [["get", "present", "k"], ["stores", "list"], ["health"]]) {
      const line = oneLine(await runCli([...args, "--address", address], { env }));
      expect(line).toMatch(
        new RegExp(`^hexclave: UNAVAILABLE: cannot reach the Hexclave server at ${address}`),
      );
      expect(line).toContain("connection refused");
      expect(line).not.toMatch(/Resolution note|No connection established|Last error|Error:/);
    }
  });

  it("STORE_NOT_FOUND says how to create the store", async () => {
    for (const args of [
      ["get", "ghost", "k"],
      ["set", "ghost", "k", "v"],
      ["stores", "get", "ghost"],
      ["keys", "list", "ghost"],
    ]) {
      expect(oneLine(await runCli(args, { env }))).toMatch(
        /^hexclave: STORE_NOT_FOUND: .*hexclave stores create ghost/,
      );
    }
  });

  it("WEAK_SECRET and a stray newline name the variable the secret came from", async () => {
    const weak = oneLine(
      await runCli(["get", "present", "k"], { env: { ...env, HEXCLAVE_SECRET: "short" } }),
    );
    expect(weak).toMatch(/^hexclave: WEAK_SECRET: HEXCLAVE_SECRET is too short/);
    expect(weak).toContain("hexclave secret generate");
    expect(weak).not.toContain('"secret"');

    const previous = oneLine(
      await runCli(["get", "present", "k"], {
        env: { ...env, HEXCLAVE_PREVIOUS_SECRET: "aaaaaaaaaaaaaaaaaaaa" },
      }),
    );
    expect(previous).toMatch(/^hexclave: WEAK_SECRET: HEXCLAVE_PREVIOUS_SECRET is too weak/);

    const newline = oneLine(
      await runCli(["get", "present", "k"], {
        env: { ...env, HEXCLAVE_SECRET: `${generateSecret()}\n` },
      }),
    );
    expect(newline).toMatch(/^hexclave: INVALID_ARGUMENT: HEXCLAVE_SECRET ends with whitespace/);
    // The secret itself is never printed.
    expect(newline).not.toContain("hxs_");
  });

  it("durations are strict: a whole number and one unit, nothing else", async () => {
    for (const ttl of ["1x", "1h30m", "1.5h", "90", "0s", "-1h", "h", " 1h", "1H"]) {
      const line = oneLine(await runCli(["set", "present", "k", "v", "--ttl", ttl], { env }));
      expect(line).toBe(
        `hexclave: INVALID_ARGUMENT: --ttl must be a whole number and a unit (s, m, h or d), such as 90s, 15m, 1h or 30d; got ${JSON.stringify(ttl)}`,
      );
    }
    // Nothing was written by the refused calls.
    expect((await runCli(["get", "present", "k"], { env })).code).toBe(1);
  });
});
