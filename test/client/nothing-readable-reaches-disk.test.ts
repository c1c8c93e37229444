import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type BackendStorage, forEachBackend } from "../support/backends.js";
import { databaseRows } from "../support/database-rows.js";
import { scanForNeedles } from "../support/needle-scan.js";
import { clusterFiles } from "../support/postgres-files.js";
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
 * shared memory, keys, anything else) holds a value, key name or secret — nor,
 * on PostgreSQL, any file of the cluster's data directory, pg_wal included.
 */

forEachBackend(
  (backend) => {
    let storage: BackendStorage;
    let dataDir: string;
    let f: ClientFixture;
    let known: KnownPlaintext;
    let running = true;
    let keyId: Buffer;

    beforeAll(async () => {
      storage = await backend.fresh();
      dataDir = storage.dataDir;
      f = await startClientFixture({ dataDir, databaseUrl: storage.databaseUrl });
      await f.createStore("disk");
      known = knownPlaintext();
      await exerciseStore(await f.client().getDataVaultStore("disk"), known);
    });
    afterAll(async () => {
      if (running) await f.close();
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
      if (storage.clusterDataDir !== undefined) {
        for (const hit of scanForNeedles(
          await clusterFiles(storage.clusterDataDir),
          known.needles,
        )) {
          const [file, label] = hit.split(": ") as [string, string];
          out[file] = [...(out[file] ?? []), label];
        }
      }
      return out;
    }

    /** Where the stored key id is found: the scans see the stored rows at all. */
    async function keyIdIn(under: string): Promise<string[]> {
      if (storage.clusterDataDir === undefined) {
        const bytes = await readFile(join(dataDir, under));
        return bytes.includes(keyId) ? [under] : [];
      }
      return scanForNeedles(await clusterFiles(storage.clusterDataDir, under), [
        { label: "key id", bytes: keyId },
      ]);
    }

    it("leaves nothing readable in any file while the server runs (database, WAL, everything)", async () => {
      const files = (await filesUnder(dataDir)).map((p) => p.slice(dataDir.length + 1)).sort();
      expect(files).toEqual(
        expect.arrayContaining(
          backend.name === "sqlite"
            ? ["hexclave.db", "hexclave.db-wal", "master.key"]
            : ["master.key"],
        ),
      );
      // A key id the store holds now: proof the scan sees the stored rows at all.
      keyId = await knownKeyId(f, known, "disk", known.generated);
      if (storage.clusterDataDir === undefined) {
        const stored = await Promise.all(files.map((p) => readFile(join(dataDir, p))));
        expect(stored.some((bytes) => bytes.includes(keyId))).toBe(true);
      } else {
        expect(await keyIdIn("pg_wal")).not.toEqual([]);
      }
      expect(await leaks()).toEqual({});
    });

    it("leaves nothing readable once the server has stopped and every page is in the database's own files", async () => {
      await f.close();
      running = false;
      if (storage.clusterDataDir === undefined) {
        // SQLite folded its WAL into the database on close.
        expect(await keyIdIn("hexclave.db")).not.toEqual([]);
      } else {
        const rows = databaseRows(storage);
        await rows.run("checkpoint");
        await rows.close();
        expect(await keyIdIn("base")).not.toEqual([]);
      }
      expect(await leaks()).toEqual({});
    });
  },
  { ownCluster: true },
);
