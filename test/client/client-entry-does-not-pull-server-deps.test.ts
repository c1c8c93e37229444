import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * `import { HexclaveClient } from "hexclave"` must not load the server: no
 * better-sqlite3 (a native build), kysely or pino, and no code from
 * src/server, src/vault or src/storage. Checked on the BUILT package (what
 * users get; `npm test` builds first): statically over the whole import
 * graph, and at run time in a fresh process.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CLIENT_ENTRY = resolve(ROOT, "dist/src/client/index.js");
const SERVER_ENTRY = resolve(ROOT, "dist/src/server/index.js");
const SERVER_DEPS = ["better-sqlite3", "kysely", "pino"];
const ALLOWED_PACKAGES = ["@bufbuild/protobuf", "@grpc/grpc-js"];

interface ImportGraph {
  /** Built files reached, relative to the package root. */
  readonly files: string[];
  /** Bare specifiers imported anywhere in the graph. */
  readonly packages: string[];
}

const IMPORT =
  /(?:^|[\s;])(?:import|export)\s(?:[^"';]*?\sfrom\s)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

/** Every file and package reachable from `entry` through static and literal dynamic imports. */
function importGraph(entry: string): ImportGraph {
  const files = new Set<string>();
  const packages = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (files.has(file)) continue;
    files.add(file);
    // Comments hold usage examples ("from \"hexclave\""), not imports.
    const code = readFileSync(file, "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/^\s*\/\/.*$/gm, "");
    for (const match of code.matchAll(IMPORT)) {
      const specifier = (match[1] ?? match[2]) as string;
      if (specifier.startsWith(".")) {
        const target = resolve(dirname(file), specifier);
        expect(existsSync(target), `${file} imports missing ${specifier}`).toBe(true);
        pending.push(target);
      } else if (!specifier.startsWith("node:")) {
        packages.add(
          specifier.startsWith("@")
            ? specifier.split("/").slice(0, 2).join("/")
            : (specifier.split("/")[0] as string),
        );
      }
    }
  }
  return { files: [...files].map((f) => relative(ROOT, f)).sort(), packages: [...packages].sort() };
}

/** Packages from node_modules in require.cache after importing `specifier` in a fresh process. */
function loadedPackages(specifier: string): string[] {
  const script = `
    import { createRequire } from "node:module";
    await import(${JSON.stringify(specifier)});
    const cache = Object.keys(createRequire(import.meta.url).cache);
    const names = cache.map((p) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(p)?.[1]).filter(Boolean);
    console.log(JSON.stringify([...new Set(names)].sort()));
  `;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd: ROOT,
    encoding: "utf8",
  });
  return JSON.parse(out) as string[];
}

describe("the client entry point (built)", () => {
  it("imports only client, crypto and generated code, and only gRPC and protobuf packages", () => {
    const graph = importGraph(CLIENT_ENTRY);
    expect(graph.files.length).toBeGreaterThan(5);
    const outside = graph.files.filter((f) => !/^dist\/(src\/(client|crypto)|gen)\//.test(f));
    expect(outside).toEqual([]);
    expect(graph.packages).toEqual(ALLOWED_PACKAGES);
  });

  it('loads none of the server\'s packages at run time: import("hexclave")', () => {
    const loaded = loadedPackages("hexclave");
    expect(loaded).toContain("@grpc/grpc-js");
    for (const dep of SERVER_DEPS) expect(loaded).not.toContain(dep);
  });

  it("would notice: the server entry does pull them in", () => {
    const graph = importGraph(SERVER_ENTRY);
    for (const dep of SERVER_DEPS) expect(graph.packages).toContain(dep);
    const loaded = loadedPackages("hexclave/server");
    expect(loaded).toEqual(expect.arrayContaining(["better-sqlite3", "pino"]));
  });

  it("exports by name exactly the public surface", async () => {
    const exported = Object.keys(await import(CLIENT_ENTRY)).sort();
    expect(exported).toEqual(
      [
        "DECRYPTION_FAILED_MESSAGE",
        "DecryptionError",
        "HexclaveClient",
        "HexclaveError",
        "PermissionDeniedError",
        "StoreNotFoundError",
        "StoreSaltChangedError",
        "UnauthenticatedError",
        "UnavailableError",
        "UnknownSecretError",
        "ValueTooLargeError",
        "VersionConflictError",
        "WeakSecretError",
        "generateSecret",
      ].sort(),
    );
    expect(readFileSync(resolve(ROOT, "src/client/index.ts"), "utf8")).not.toMatch(/export \*/);
  });
});
