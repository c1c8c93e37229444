import { randomBytes } from "node:crypto";
import { chmod, chown, readdir, readFile, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { type RunningServer, startServer } from "../../src/server/index.js";
import { databaseRows } from "../support/database-rows.js";
import { bearer, call, rawClients } from "../support/grpc-clients.js";
import {
  type ControlledServer,
  logsWith,
  runToExit,
  serverFleet,
  stop,
  tempDataDir,
} from "../support/server-control.js";
import { startTestServer } from "../support/test-server.js";
import {
  createStore,
  getValue,
  keyRef,
  newFingerprint,
  setValue,
} from "../support/vault-fixtures.js";

/**
 * First start on a fresh machine: an admin token the operator can find and
 * only they can read, a development master key that warns about where it
 * sits, and a refusal to start on a master key that does not open the data.
 */

const fleet = serverFleet();
afterAll(() => fleet.cleanup());
const start = (env: Record<string, string>): Promise<ControlledServer> => fleet.start(env);

async function halt(p: ControlledServer): Promise<void> {
  expect(await stop(p, "SIGTERM")).toEqual({ code: 0, signal: null });
}

/** Starts the server in this process on `dataDir` with no admin token configured, capturing its log. */
async function startInProcess(
  dataDir: string,
): Promise<{ server: RunningServer; logs: Record<string, unknown>[] }> {
  const logs: Record<string, unknown>[] = [];
  const logger = pino(
    { level: "info" },
    { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) },
  );
  const server = await startServer({
    listen: "127.0.0.1:0",
    dataDir,
    env: { HEXCLAVE_ADMIN_TOKEN: `boot-admin-${randomBytes(24).toString("base64url")}` },
    logger,
  });
  return { server, logs };
}

const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;
const ADMIN_TOKEN_LOG = /^created the first admin token/;

describe("first start without HEXCLAVE_ADMIN_TOKEN", () => {
  it("writes admin.token (0600), logs its path, and the token works; a second start makes no other", async () => {
    const parent = await tempDataDir("hexclave-boot-");
    fleet.track(parent);
    const dataDir = join(parent, "fresh", "data");
    const first = await start({ HEXCLAVE_DATA_DIR: dataDir });

    const tokenFile = join(dataDir, "admin.token");
    expect(await modeOf(dataDir)).toBe(0o700);
    expect(await modeOf(tokenFile)).toBe(0o600);
    expect(await modeOf(join(dataDir, "hexclave.db"))).toBe(0o600);
    const token = (await readFile(tokenFile, "utf8")).trim();
    expect(token).toMatch(/^hxk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const announced = first.logs.filter((l) => ADMIN_TOKEN_LOG.test(String(l.msg)));
    expect(announced).toHaveLength(1);
    expect(announced[0]?.path).toBe(tokenFile);
    // The log says where the token is, never what it is.
    expect(JSON.stringify(first.logs)).not.toContain(token.slice(-43));

    const c = rawClients(first.address);
    await createStore(c, token, "made-with-bootstrap");
    const listed = await call(c.admin, c.admin.listStores, {}, bearer(token));
    expect(listed.stores.map((s) => s.id)).toEqual(["made-with-bootstrap"]);
    c.close();
    await halt(first);

    const second = await start({ HEXCLAVE_DATA_DIR: dataDir });
    expect(second.logs.filter((l) => ADMIN_TOKEN_LOG.test(String(l.msg)))).toEqual([]);
    expect((await readFile(tokenFile, "utf8")).trim()).toBe(token);
    const c2 = rawClients(second.address);
    const tokens = await call(
      c2.admin,
      c2.admin.listTokens,
      { includeRevoked: true },
      bearer(token),
    );
    expect(tokens.tokens.map((t) => t.name)).toEqual(["bootstrap-admin"]);
    c2.close();
    await halt(second);

    // Even with the file gone, a database that has tokens gets no new one.
    await unlink(tokenFile);
    const third = await start({ HEXCLAVE_DATA_DIR: dataDir });
    expect(third.logs.filter((l) => ADMIN_TOKEN_LOG.test(String(l.msg)))).toEqual([]);
    expect(await readdir(dataDir)).not.toContain("admin.token");
    await halt(third);
  });

  it("with HEXCLAVE_ADMIN_TOKEN set, writes no token file and stores no token, but lists it", async () => {
    const t = await startTestServer();
    try {
      expect(await readdir(t.dataDir)).not.toContain("admin.token");
      const c = rawClients(t.address);
      const tokens = await call(
        c.admin,
        c.admin.listTokens,
        { includeRevoked: true },
        bearer(t.adminToken),
      );
      // Listed (so it can be revoked), not stored: the database holds no token.
      expect(tokens.tokens.map((tok) => [tok.name, tok.admin])).toEqual([
        ["HEXCLAVE_ADMIN_TOKEN", true],
      ]);
      expect(tokens.tokens[0]?.id).toMatch(/^[0-9a-f]{16}$/);
      expect(
        await databaseRows({ dataDir: t.dataDir, databaseUrl: undefined }).all(
          "select id from tokens",
        ),
      ).toEqual([]);
      c.close();
    } finally {
      await t.close();
    }
  });
});

describe("the first admin token against local tampering and crashes", () => {
  const token = () =>
    `hxk_${randomBytes(8).toString("hex")}_${randomBytes(32).toString("base64url")}`;

  it("never writes into an admin.token another user planted (open to others): refuses to start", async () => {
    const dataDir = fleet.track(await tempDataDir("hexclave-boot-plant-"));
    const planted = join(dataDir, "admin.token");
    await writeFile(planted, "", { mode: 0o666 });
    await chmod(planted, 0o666);
    const refused = await runToExit({ HEXCLAVE_DATA_DIR: dataDir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${planted} is readable or writable by other users`);
    expect(await readFile(planted, "utf8")).toBe("");
    expect(refused.stdout).not.toContain('"msg":"hexclave serving"');
  });

  it("does not adopt an admin.token owned by another user, even a private one", async () => {
    const dataDir = fleet.track(await tempDataDir("hexclave-boot-owner-"));
    const planted = join(dataDir, "admin.token");
    await writeFile(planted, `${token()}\n`, { mode: 0o600 });
    if (process.getuid?.() !== 0) return; // Only root can give a file away; the mode case above covers others.
    await chown(planted, 65534, 65534);
    const refused = await runToExit({ HEXCLAVE_DATA_DIR: dataDir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${planted} belongs to another user`);
  });

  it("refuses a data directory every user can write to", async () => {
    const dataDir = fleet.track(await tempDataDir("hexclave-boot-0777-"));
    await chmod(dataDir, 0o777);
    const refused = await runToExit({ HEXCLAVE_DATA_DIR: dataDir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`run "chmod 700 ${dataDir}"`);
    expect(await readdir(dataDir)).toEqual([]);
  });

  it("finishes a first start that died after writing admin.token: that token becomes valid", async () => {
    // The state a SIGKILL between writing the file and storing the token leaves behind.
    const dataDir = fleet.track(await tempDataDir("hexclave-boot-crash-"));
    const left = token();
    await writeFile(join(dataDir, "admin.token"), `${left}\n`, { mode: 0o600 });
    const p = await start({ HEXCLAVE_DATA_DIR: dataDir });
    expect(
      logsWith(
        p,
        "finished a first start that was interrupted: the admin token in this file is now valid",
      ),
    ).toHaveLength(1);
    const c = rawClients(p.address);
    await createStore(c, left, "after-crash");
    c.close();
    await halt(p);
  });

  it("refuses an admin.token that holds no token, saying to remove it", async () => {
    const dataDir = fleet.track(await tempDataDir("hexclave-boot-junk-"));
    await writeFile(join(dataDir, "admin.token"), "not a token\n", { mode: 0o600 });
    const refused = await runToExit({ HEXCLAVE_DATA_DIR: dataDir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("does not hold an access token");
    expect(refused.stderr).toContain("remove the file and restart");
  });
});

describe("the development master key", () => {
  it("is made once, 0600, with a warning that it sits next to the data; later starts warn again", async () => {
    const dataDir = await tempDataDir("hexclave-boot-key-");
    fleet.track(dataDir);
    const first = await startInProcess(dataDir);
    const keyFile = join(dataDir, "master.key");
    expect(await modeOf(keyFile)).toBe(0o600);
    const key = await readFile(keyFile, "utf8");
    expect(Buffer.from(key.trim(), "base64")).toHaveLength(32);
    expect(first.logs.find((l) => l.msg === "generated a development master key")).toMatchObject({
      path: keyFile,
      level: 40,
    });
    const warning = first.logs.find((l) => /sits next to the data/.test(String(l.msg)));
    expect(warning).toMatchObject({ level: 40, path: keyFile });
    expect(JSON.stringify(first.logs)).not.toContain(key.trim());
    await first.server.close();

    const second = await startInProcess(dataDir);
    expect(second.logs.filter((l) => l.msg === "generated a development master key")).toEqual([]);
    expect(second.logs.some((l) => /sits next to the data/.test(String(l.msg)))).toBe(true);
    expect(await readFile(keyFile, "utf8")).toBe(key);
    await second.server.close();
  });
});

describe("HEXCLAVE_MASTER_KEY", () => {
  it("a different key on restart is refused with a clear message; the right one opens the data", async () => {
    const dataDir = await tempDataDir("hexclave-boot-mk-");
    fleet.track(dataDir);
    const right = randomBytes(32).toString("base64");
    const wrong = randomBytes(32).toString("base64");
    const adminToken = `boot-admin-${randomBytes(24).toString("base64url")}`;
    const env = { HEXCLAVE_DATA_DIR: dataDir, HEXCLAVE_ADMIN_TOKEN: adminToken };

    const p = await start({ ...env, HEXCLAVE_MASTER_KEY: right });
    // A key from the environment is not copied next to the data.
    expect(await readdir(dataDir)).not.toContain("master.key");
    const c = rawClients(p.address);
    const key = keyRef(newFingerprint());
    await createStore(c, adminToken, "keep");
    await setValue(c, adminToken, "keep", key, Buffer.from("sealed under the right key"));
    c.close();
    await halt(p);

    const refused = await runToExit({ ...env, HEXCLAVE_MASTER_KEY: wrong });
    expect(refused.code).toBe(1);
    const line = refused.stderr.trim();
    expect(line.split("\n")).toHaveLength(1);
    expect(line).toMatch(
      /^hexclave: the master key \(id [0-9a-f]+\) is not the one stores "keep" were created with/,
    );
    expect(line).toContain("HEXCLAVE_MASTER_KEY");
    expect(line).not.toContain(right);
    expect(line).not.toContain(wrong);
    expect(refused.stdout).not.toContain('"msg":"hexclave serving"');

    const again = await start({ ...env, HEXCLAVE_MASTER_KEY: right });
    const c2 = rawClients(again.address);
    const entry = await getValue(c2, adminToken, "keep", key);
    expect(Buffer.from(entry?.sealedValue ?? []).toString()).toBe("sealed under the right key");
    c2.close();
    await halt(again);
  });

  it.each([
    ["16 bytes", randomBytes(16).toString("base64")],
    ["24 bytes (32 base64 characters)", randomBytes(24).toString("base64")],
    ["33 bytes", randomBytes(33).toString("base64")],
    ["not base64", "this is not a key at all!"],
  ])("of the wrong length (%s) is refused before anything is written", async (_, value) => {
    const dataDir = await tempDataDir("hexclave-boot-len-");
    fleet.track(dataDir);
    const error = await startServer({
      listen: "127.0.0.1:0",
      dataDir,
      env: { HEXCLAVE_MASTER_KEY: value },
      logger: pino({ level: "silent" }),
    }).then(
      async (server) => {
        await server.close();
        return undefined;
      },
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/^HEXCLAVE_MASTER_KEY must hold a 32-byte master key as base64/);
    expect(error?.message).not.toContain(value);
    expect(await readdir(dataDir)).toEqual([]);
  });

  it("of the wrong length makes `hexclave serve` exit 1 with one line saying what to fix", async () => {
    const dataDir = await tempDataDir("hexclave-boot-cli-");
    fleet.track(dataDir);
    const value = randomBytes(24).toString("base64");
    const refused = await runToExit({ HEXCLAVE_DATA_DIR: dataDir, HEXCLAVE_MASTER_KEY: value });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^hexclave: HEXCLAVE_MASTER_KEY must hold a 32-byte master key as base64 \(make one with `openssl rand -base64 32`\), got 24 bytes\n$/,
    );
  });

  it("--master-key-file of the wrong length is refused too", async () => {
    const dataDir = await tempDataDir("hexclave-boot-file-");
    fleet.track(dataDir);
    const file = join(dataDir, "short.key");
    await writeFile(file, randomBytes(20).toString("base64"), { mode: 0o600 });
    await expect(
      startServer({
        listen: "127.0.0.1:0",
        dataDir,
        masterKeyFile: file,
        env: {},
        logger: pino({ level: "silent" }),
      }),
    ).rejects.toThrow(`--master-key-file ${file} must hold a 32-byte master key`);
  });
});
