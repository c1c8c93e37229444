import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type ClientFixture, startClientFixture } from "./support/client-fixture.js";
import {
  exerciseStore,
  type KnownPlaintext,
  knownKeyId,
  knownPlaintext,
} from "./support/known-plaintext.js";
import { findNeedles } from "./support/plaintext-needles.js";

/**
 * Promise 1, at rest: after known plaintexts have been written, read, listed,
 * rotated and deleted, no file in the server's data directory (database, WAL,
 * shared memory, keys, anything else) holds a value, key name or secret.
 */

let dataDir: string;
let f: ClientFixture;
let known: KnownPlaintext;
let running = true;
let keyId: Buffer;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "hexclave-disk-"));
  f = await startClientFixture({ dataDir });
  await f.createStore("disk");
  known = knownPlaintext();
  await exerciseStore(await f.client().getDataVaultStore("disk"), known);
});
afterAll(async () => {
  if (running) await f.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function filesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await filesUnder(path)));
    else found.push(path);
  }
  return found;
}

async function leaks(): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const file of await filesUnder(dataDir)) {
    const hits = findNeedles(await readFile(file), known.needles);
    if (hits.length > 0) out[file] = hits;
  }
  return out;
}

it("leaves nothing readable in any file while the server runs (database, -wal, -shm)", async () => {
  const files = (await filesUnder(dataDir)).map((p) => p.slice(dataDir.length + 1)).sort();
  expect(files).toEqual(expect.arrayContaining(["hexclave.db", "hexclave.db-wal", "master.key"]));
  // A key id the store holds now: proof the scan sees the stored rows at all.
  keyId = await knownKeyId(f, known, "disk", known.generated);
  const stored = await Promise.all(files.map((p) => readFile(join(dataDir, p))));
  expect(stored.some((bytes) => bytes.includes(keyId))).toBe(true);
  expect(await leaks()).toEqual({});
});

it("leaves nothing readable once the server has stopped and folded the WAL into the database", async () => {
  await f.close();
  running = false;
  const db = await readFile(join(dataDir, "hexclave.db"));
  expect(db.includes(keyId)).toBe(true);
  expect(await leaks()).toEqual({});
});
