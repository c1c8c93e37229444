import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_PATH, type ServerProcess, spawnServer } from "../support/server-process.js";

const run = promisify(execFile);
const repo = fileURLToPath(new URL("../..", import.meta.url));
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

/**
 * The client ships alone as `@hexclave/client` (packages/client): packed with
 * npm pack, it holds only the built client, the crypto it uses and the
 * generated messages; installed into an empty project from the npm registry,
 * it brings no native module and nothing of the server; and the README's
 * example, with that package in its import, runs against a real server. The
 * full package's tarball holds no tests, benchmarks or source maps either.
 * Prints the figures README.md quotes (dependencies, install time, size).
 */

interface Packed {
  readonly tarball: string;
  readonly size: number;
  readonly unpackedSize: number;
  readonly files: string[];
}

/** The fenced block tagged `js example.mjs` in README.md, exactly as written. */
async function readmeExample(): Promise<string> {
  const readme = await readFile(join(repo, "README.md"), "utf8");
  const match = /```js example\.mjs\n([\s\S]*?)```/.exec(readme);
  if (match === null) throw new Error("README.md has no ```js example.mjs block");
  return match[1] as string;
}

/** Every package.json under node_modules, nested ones included. */
async function installedManifests(dir: string): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  const walk = async (modules: string): Promise<void> => {
    for (const name of await readdir(modules).catch(() => [] as string[])) {
      if (name.startsWith(".")) continue;
      const scoped = name.startsWith("@");
      for (const pkg of scoped
        ? (await readdir(join(modules, name))).map((n) => join(name, n))
        : [name]) {
        const manifest = join(modules, pkg, "package.json");
        found.push(JSON.parse(await readFile(manifest, "utf8")) as Record<string, unknown>);
        await walk(join(modules, pkg, "node_modules"));
      }
    }
  };
  await walk(join(dir, "node_modules"));
  return found;
}

/** Files under `dir` whose name matches. */
async function filesNamed(dir: string, pattern: RegExp): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.filter((e) => pattern.test(e));
}

describe("the client package on its own", () => {
  let scratch: string;
  let packed: Packed;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), "hexclave-client-pkg-"));
    const { stdout } = await run(process.execPath, [join(repo, "tools/pack-client.mjs"), scratch]);
    packed = JSON.parse(stdout) as Packed;
  }, 120_000);
  afterAll(() => rm(scratch, { recursive: true, force: true }));

  it("packs only the built client, its crypto and the generated messages", () => {
    const outside = packed.files.filter(
      (f) =>
        !/^dist\/(src\/(client|crypto)|gen)\/[\w/-]+\.(js|d\.ts)$/.test(f) &&
        f !== "package.json" &&
        f !== "README.md",
    );
    expect(outside).toEqual([]);
    expect(packed.files).toContain("dist/src/client/index.js");
    expect(packed.files).toContain("dist/src/client/index.d.ts");
    // Nothing of the server, not even its crypto: at-rest sealing and audit MACs stay out.
    expect(packed.files.filter((f) => /at-rest|audit-mac|server|storage|vault\//.test(f))).toEqual(
      [],
    );
  });

  it("installs into an empty project without native modules, and runs the README example", async () => {
    // An empty project: the scratch directory, which holds only the tarball so far.
    await writeFile(
      join(scratch, "package.json"),
      JSON.stringify({ name: "app", private: true, type: "module" }),
    );
    const started = Date.now();
    await run(npm, ["install", "--no-audit", "--no-fund", packed.tarball], { cwd: scratch });
    const installMs = Date.now() - started;

    const manifests = await installedManifests(scratch);
    const dependencies = manifests.filter((m) => m.name !== "@hexclave/client");
    expect(manifests.map((m) => m.name)).toContain("@grpc/grpc-js");
    for (const server of ["better-sqlite3", "kysely", "pg", "pino", "prom-client", "commander"]) {
      expect(manifests.map((m) => m.name)).not.toContain(server);
    }
    // Nothing to compile: no addon, no gyp build.
    expect(manifests.filter((m) => m.gypfile === true).map((m) => m.name)).toEqual([]);
    expect(await filesNamed(join(scratch, "node_modules"), /(\.node|binding\.gyp)$/)).toEqual([]);

    const dataDir = join(scratch, "data");
    let server: ServerProcess | undefined;
    try {
      server = await spawnServer({ HEXCLAVE_DATA_DIR: dataDir });
      const token = (await readFile(join(dataDir, "admin.token"), "utf8")).trim();
      const env = { ...process.env, HEXCLAVE_ADDRESS: server.address, HEXCLAVE_TOKEN: token };
      await run(process.execPath, [CLI_PATH, "stores", "create", "oauth-tokens"], { env });
      const secret = (
        await run(process.execPath, [CLI_PATH, "secret", "generate"], { env })
      ).stdout.trim();
      const example = (await readmeExample()).replace('from "hexclave"', 'from "@hexclave/client"');
      expect(example).toContain('from "@hexclave/client"');
      await writeFile(join(scratch, "example.mjs"), example);
      const { stdout } = await run(process.execPath, ["example.mjs"], {
        cwd: scratch,
        env: { ...env, HEXCLAVE_SECRET: secret },
      });
      expect(stdout.trim()).toBe("stored and read back");
    } finally {
      server?.child.kill("SIGTERM");
      await server?.exited;
    }

    console.log(
      `@hexclave/client: tarball ${(packed.size / 1024).toFixed(1)} KiB (${(packed.unpackedSize / 1024).toFixed(0)} KiB unpacked, ${packed.files.length} files); ` +
        `${dependencies.length} packages installed with it (${[...new Set(dependencies.map((m) => m.name))].sort().join(", ")}); ` +
        `npm install took ${(installMs / 1000).toFixed(1)} s`,
    );
  }, 120_000);
});

describe("the full package", () => {
  it("packs no tests, benchmarks, source maps or build state", async () => {
    const { stdout } = await run(npm, ["pack", "--dry-run", "--json"], { cwd: repo });
    const files = (JSON.parse(stdout) as { files: { path: string }[] }[])[0]?.files.map(
      (f) => f.path,
    ) as string[];
    expect(files).toContain("dist/src/cli/main.js");
    expect(files).toContain("dist/src/client/index.js");
    expect(files).toContain("dist/src/server/index.js");
    expect(files).toContain("proto/hexclave/v1/vault_service.proto");
    expect(
      files.filter((f) =>
        /^(test|bench|dist\/bench|dist\/test|packages|src)\/|\.map$|tsbuildinfo/.test(f),
      ),
    ).toEqual([]);
  }, 60_000);
});
