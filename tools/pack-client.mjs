#!/usr/bin/env node
// Builds the client-only package (packages/client: src/client, the parts of src/crypto it
// imports, and the generated messages it sends, from one tsc program rooted at
// src/client/index.ts) and packs it with `npm pack`. Prints what npm pack reports as JSON:
// the tarball's name, size and files.
//
//   node tools/pack-client.mjs [destination]   (default: dist/packages)
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const pkg = resolve(root, "packages/client");
const destination = resolve(process.argv[2] ?? resolve(root, "dist/packages"));
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

// A clean build: nothing left over from an older layout may slip into the tarball.
rmSync(resolve(pkg, "dist"), { recursive: true, force: true });
execFileSync(process.execPath, [resolve(root, "node_modules/typescript/bin/tsc"), "-p", pkg], {
  stdio: "inherit",
});
mkdirSync(destination, { recursive: true });
const out = execFileSync(npm, ["pack", "--json", "--pack-destination", destination], {
  cwd: pkg,
  encoding: "utf8",
});
const [packed] = JSON.parse(out);
process.stdout.write(
  `${JSON.stringify({
    tarball: resolve(destination, packed.filename),
    size: packed.size,
    unpackedSize: packed.unpackedSize,
    files: packed.files.map((f) => f.path).sort(),
  })}\n`,
);
