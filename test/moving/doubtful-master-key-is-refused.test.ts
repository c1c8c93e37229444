import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { chmod, chown, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runToExit } from "../support/server-control.js";
import { CLI_PATH } from "../support/server-process.js";
import { runCli } from "./support/cli.js";

/**
 * Threat: a server (or a tool) that starts on a key it should doubt — a
 * secret that did not resolve (set but empty), a file that is gone, one
 * other users can read or replace, or no key at all in production — and
 * then writes data under a key nobody will have at the next start, or one
 * an attacker knows. Each is refused before anything is written, in one
 * line saying what to fix.
 */

let work: string;
const key = (): string => `${randomBytes(32).toString("base64")}\n`;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "hexclave-doubtful-key-"));
});
afterAll(() => rm(work, { recursive: true, force: true }));

async function keyFile(name: string, mode: number): Promise<string> {
  const file = join(work, name);
  await writeFile(file, key(), { mode: 0o600 });
  await chmod(file, mode);
  return file;
}

function emptyDir(prefix: string): Promise<string> {
  return mkdtemp(join(work, prefix));
}

describe("hexclave serve refuses a doubtful master key, writing nothing", () => {
  const cases: [string, () => Promise<{ env: Record<string, string>; args: string[] }>, RegExp][] =
    [
      [
        "HEXCLAVE_MASTER_KEY set but empty (a secret that did not resolve)",
        async () => ({ env: { HEXCLAVE_MASTER_KEY: "" }, args: [] }),
        /^hexclave: HEXCLAVE_MASTER_KEY is set but empty \(a secret that did not resolve\?\)/,
      ],
      [
        "HEXCLAVE_MASTER_KEY_FILE set but empty",
        async () => ({ env: { HEXCLAVE_MASTER_KEY_FILE: "" }, args: [] }),
        /^hexclave: HEXCLAVE_MASTER_KEY_FILE is set but empty: set it to the key file's path, or unset it/,
      ],
      [
        "a key file that does not exist",
        async () => ({ env: {}, args: ["--master-key-file", join(work, "missing.key")] }),
        /^hexclave: --master-key-file .*missing\.key does not exist: mount the master key there, or fix the path/,
      ],
      [
        "a key file every user can read (0644)",
        async () => ({ env: {}, args: ["--master-key-file", await keyFile("open.key", 0o644)] }),
        /^hexclave: --master-key-file .*open\.key is open to other users \(mode 0644\): make it 0400 or 0440/,
      ],
      [
        "a key file its group can replace (0660)",
        async () => ({ env: {}, args: ["--master-key-file", await keyFile("group.key", 0o660)] }),
        /^hexclave: --master-key-file .*group\.key is open to other users \(mode 0660\)/,
      ],
      [
        "a previous key file every user can read",
        async () => ({
          env: {},
          args: [
            "--master-key-file",
            await keyFile("current.key", 0o400),
            "--previous-master-key-file",
            await keyFile("previous-open.key", 0o644),
          ],
        }),
        /^hexclave: --previous-master-key-file .*previous-open\.key is open to other users/,
      ],
      [
        "both HEXCLAVE_MASTER_KEY and a key file (which one holds the data?)",
        async () => ({
          env: { HEXCLAVE_MASTER_KEY: key().trim() },
          args: ["--master-key-file", await keyFile("both.key", 0o400)],
        }),
        /^hexclave: both HEXCLAVE_MASTER_KEY and --master-key-file \/ HEXCLAVE_MASTER_KEY_FILE are set: keep one/,
      ],
      [
        "no key at all with NODE_ENV=production (no development key there)",
        async () => ({ env: { NODE_ENV: "production" }, args: [] }),
        /^hexclave: no master key: with NODE_ENV=production the server needs one/,
      ],
    ];

  it.each(cases)("%s", async (name, setup, message) => {
    const dataDir = await emptyDir(`data-${name.replace(/\W+/g, "-").slice(0, 30)}-`);
    const { env, args } = await setup();
    const refused = await runToExit({ HEXCLAVE_DATA_DIR: dataDir, ...env }, args);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(message);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    expect(refused.stdout).not.toContain("hexclave serving");
    expect(await readdir(dataDir)).toEqual([]);
  });

  it("a key file this user cannot read", async () => {
    const file = await keyFile("unreadable.key", 0o400);
    const dataDir = await emptyDir("data-unreadable-");
    // As root every file is readable: run the server as `nobody` (uid 65534) instead.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      await chmod(work, 0o711);
      await chown(dataDir, 65534, 65534);
    } else {
      await chmod(file, 0o000);
    }
    const child = spawn(
      process.execPath,
      [CLI_PATH, "serve", "--master-key-file", file, "--data-dir", dataDir],
      {
        env: { PATH: process.env.PATH ?? "", HEXCLAVE_LISTEN: "127.0.0.1:0" },
        cwd: tmpdir(),
        stdio: ["ignore", "pipe", "pipe"],
        ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
      },
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = await once(child, "close");
    if (asRoot) await chmod(work, 0o700);
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /^hexclave: --master-key-file .*unreadable\.key is not readable by this user \(uid \d+\): fix its owner or group\n$/,
    );
    expect(await readdir(dataDir)).toEqual([]);
  });
});

describe("the tools that hold the master key refuse doubtful ones too", () => {
  it("master-key rotate refuses a new key file other users can read, before opening the database", async () => {
    const dataDir = await emptyDir("rotate-");
    const run = await runCli(
      [
        "master-key",
        "rotate",
        "--data-dir",
        dataDir,
        "--new-key-file",
        await keyFile("new-open.key", 0o644),
      ],
      { HEXCLAVE_MASTER_KEY_FILE: await keyFile("rotate-current.key", 0o400) },
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^hexclave: --new-key-file .*new-open\.key is open to other users/);
    expect(await readdir(dataDir)).toEqual([]);
  });

  it("restore refuses HEXCLAVE_MASTER_KEY set but empty, before reading the backup", async () => {
    const dataDir = join(work, "restore-target");
    const backup = join(work, "unread.backup");
    await writeFile(backup, "never opened");
    const run = await runCli(["restore", "--from", backup, "--data-dir", dataDir], {
      HEXCLAVE_MASTER_KEY: "",
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^hexclave: HEXCLAVE_MASTER_KEY is set but empty/);
    await expect(readdir(dataDir)).rejects.toThrow(/ENOENT/);
  });
});
