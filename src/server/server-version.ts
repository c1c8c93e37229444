import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

/**
 * This build's version, from the package.json it ships in (found by walking
 * up from this file: src/server in a checkout, dist/src/server in a build).
 *
 * @example
 * serverVersion(); // "0.1.0"
 */
export function serverVersion(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === "hexclave" && typeof pkg.version === "string") {
        cached = pkg.version;
        return cached;
      }
    } catch {
      // Not here: look one level up.
    }
    dir = dirname(dir);
  }
  cached = "unknown";
  return cached;
}
