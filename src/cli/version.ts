import { readFileSync } from "node:fs";

/**
 * This package's version, from its package.json (two folders above the built
 * `dist/src/cli/`), as `hexclave --version` prints it.
 *
 * @example
 * program.version(packageVersion());
 */
export function packageVersion(): string {
  const manifest = new URL("../../../package.json", import.meta.url);
  try {
    const { version } = JSON.parse(readFileSync(manifest, "utf8")) as { version?: unknown };
    return typeof version === "string" ? version : "unknown";
  } catch {
    return "unknown";
  }
}
