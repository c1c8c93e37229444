import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_PATH, type ServerProcess, spawnServer } from "../support/server-process.js";

const run = promisify(execFile);
const repo = fileURLToPath(new URL("../..", import.meta.url));

/** The fenced block tagged `js example.mjs` in README.md, exactly as written. */
async function readmeExample(): Promise<string> {
  const readme = await readFile(join(repo, "README.md"), "utf8");
  const match = /```js example\.mjs\n([\s\S]*?)```/.exec(readme);
  if (match === null) throw new Error("README.md has no ```js example.mjs block");
  return match[1] as string;
}

describe("the README's quick start", () => {
  let dataDir: string;
  let server: ServerProcess;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "hexclave-readme-"));
    // As `npm start` runs it: `hexclave serve` on the embedded default, first admin token in the data dir.
    server = await spawnServer({ HEXCLAVE_DATA_DIR: dataDir });
  });

  afterAll(async () => {
    server.child.kill("SIGTERM");
    await server.exited;
    await rm(dataDir, { recursive: true, force: true });
  });

  it("runs the example as written: create the store, generate a secret, store and read back", async () => {
    const token = (await readFile(join(dataDir, "admin.token"), "utf8")).trim();
    const env = { ...process.env, HEXCLAVE_ADDRESS: server.address, HEXCLAVE_TOKEN: token };
    await run(
      process.execPath,
      [CLI_PATH, "stores", "create", "oauth-tokens", "--description", "GitHub, Slack, Notion"],
      { env },
    );
    const secret = (
      await run(process.execPath, [CLI_PATH, "secret", "generate"], { env })
    ).stdout.trim();
    expect(secret).toMatch(/^hxs_/);

    // Inside the package directory, so `import "hexclave"` resolves to this package's build.
    const scratch = join(repo, "test", ".tmp");
    await mkdir(scratch, { recursive: true });
    const file = join(scratch, `readme-example-${process.pid}.mjs`);
    await writeFile(file, await readmeExample());
    try {
      const { stdout } = await run(process.execPath, [file], {
        env: { ...env, HEXCLAVE_SECRET: secret },
      });
      expect(stdout.trim()).toBe("stored and read back");
    } finally {
      await rm(file, { force: true });
    }

    // The value is really there, readable with the same secret through the CLI.
    const got = await run(process.execPath, [CLI_PATH, "get", "oauth-tokens", "gh:42"], {
      env: { ...env, HEXCLAVE_SECRET: secret },
    });
    expect(got.stdout.trim()).toBe("ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c3");
  });
});
