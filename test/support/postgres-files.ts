import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { encodedForms } from "./sqlite-files.js";

/**
 * A PostgreSQL cluster's files as someone with its disk (or a copy) sees
 * them: the counterpart of sqlite-files.ts's scans. Tests read the data
 * directory of a cluster of their own (its files belong to the postgres user;
 * the tests run as root, or as that user).
 */

/** Every regular file under `dir`, recursively, as absolute paths. */
export async function filesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await filesUnder(path)));
    else if (entry.isFile()) found.push(path);
  }
  return found;
}

/**
 * Reads every file under `dataDir`/`under` ("base" for the heap and index
 * files, "pg_wal" for the write-ahead log, "" for everything) and returns
 * `[path relative to dataDir, bytes]` pairs. Files may vanish while being
 * listed (the server recycles WAL, unlinks dropped relations): those are skipped.
 */
export async function clusterFiles(
  dataDir: string,
  under = "",
): Promise<(readonly [string, Buffer])[]> {
  const out: (readonly [string, Buffer])[] = [];
  for (const path of await filesUnder(join(dataDir, under))) {
    const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      throw error;
    });
    if (bytes !== undefined) out.push([relative(dataDir, path), bytes] as const);
  }
  return out;
}

/**
 * Where any encoded form of `bytes` (raw, hex, HEX, base64, base64url, as
 * sqlite-files.ts's `occurrences`) occurs in the cluster's files under
 * `under`, as "path: form" strings; empty when it occurs nowhere.
 */
export async function clusterOccurrences(
  dataDir: string,
  bytes: Buffer,
  under = "",
): Promise<string[]> {
  const files = await clusterFiles(dataDir, under);
  return encodedForms(bytes).flatMap(({ form, bytes: needle }) =>
    files.filter(([, content]) => content.includes(needle)).map(([path]) => `${path}: ${form}`),
  );
}
