import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BackendStorage, forEachBackend } from "../support/backends.js";
import { databaseRows } from "../support/database-rows.js";
import { bearer, call, type RawClients, rawClients } from "../support/grpc-clients.js";
import { type LabelledNeedle, scanForNeedles } from "../support/needle-scan.js";
import { clusterFiles } from "../support/postgres-files.js";
import { DATA_FILES, encodedForms } from "../support/sqlite-files.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { createStore, keyRef, newFingerprint, setValue } from "../support/vault-fixtures.js";

/**
 * Threat: someone with the disk, or a copy of it, reads what clients stored.
 * Clients send sealed blobs; the server seals each again with its store's key
 * before it touches the database. So the blob as sent must not appear in the
 * database's files, in any encoding: SQLite's database, WAL and shared-memory
 * file; every file of the PostgreSQL cluster's data directory, its WAL
 * (pg_wal) included.
 */

const DESCRIPTION = "plaintext-probe: descriptions are stored as given";
const fp = newFingerprint();

/** A blob anyone would recognise: a marker, then random bytes so it is unique to this run. */
function recognisableBlob(size: number): Buffer {
  const marker = Buffer.from(`HEXCLAVE-CANARY-${randomBytes(6).toString("hex")}-`);
  return Buffer.concat([marker, randomBytes(size - marker.length)]);
}

/**
 * Windows of a blob to search for. A blob larger than a page is split over
 * overflow pages with pointers in between, so looking for it whole could miss
 * it; every 24-byte window at 256-byte steps cannot all be split.
 */
function windows(blob: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at + 24 <= blob.length; at += 256) out.push(blob.subarray(at, at + 24));
  return out;
}

/** Every form of the blob, and of each of its windows, that the scan looks for. */
function needlesOf(blob: Buffer): LabelledNeedle[] {
  const needles = encodedForms(blob).map(({ form, bytes }) => ({ label: form, bytes }));
  for (const window of windows(blob)) {
    // Raw and hex windows are position-independent; base64 is covered whole above.
    for (const { form, bytes } of encodedForms(window).slice(0, 3)) {
      needles.push({ label: `${form} window`, bytes });
    }
  }
  return needles;
}

/** The files someone with the disk reads: SQLite's three, or every file of the cluster. */
async function diskFiles(storage: BackendStorage): Promise<(readonly [string, Buffer])[]> {
  if (storage.clusterDataDir !== undefined) return clusterFiles(storage.clusterDataDir);
  return DATA_FILES.filter((name) => existsSync(join(storage.dataDir, name))).map(
    (name) => [name, readFileSync(join(storage.dataDir, name))] as const,
  );
}

forEachBackend(
  (backend) => {
    let storage: BackendStorage;
    let t: TestServer;
    let c: RawClients;
    const blobs = [recognisableBlob(200), recognisableBlob(3000), recognisableBlob(60_000)];
    const keys = blobs.map(() => keyRef(fp));
    const traces = async (): Promise<string[]> =>
      scanForNeedles(await diskFiles(storage), blobs.flatMap(needlesOf));

    beforeAll(async () => {
      storage = await backend.fresh();
      t = await startTestServer({ dataDir: storage.dataDir, databaseUrl: storage.databaseUrl });
      c = rawClients(t.address);
      await createStore(c, t.adminToken, "plaintext-probe", { description: DESCRIPTION });
      for (const [i, blob] of blobs.entries()) {
        await setValue(c, t.adminToken, "plaintext-probe", keys[i] as (typeof keys)[0], blob);
      }
      // Overwrite one so an older copy could linger too.
      await setValue(
        c,
        t.adminToken,
        "plaintext-probe",
        keys[0] as (typeof keys)[0],
        blobs[0] as Buffer,
      );
    });

    afterAll(async () => {
      c?.close();
      await t?.close();
    });

    describe("the disk never holds a sealed blob as sent", () => {
      it("the scan finds what is stored as given (the description and the raw key ids), so it can see", async () => {
        const files = await diskFiles(storage);
        const asGiven = [
          { label: "description", bytes: Buffer.from(DESCRIPTION) },
          ...keys.map((key, i) => ({ label: `key id ${i}`, bytes: key.keyId })),
        ];
        const seen = new Set(scanForNeedles(files, asGiven).map((hit) => hit.split(": ")[1]));
        expect([...seen].sort()).toEqual(asGiven.map((n) => n.label).sort());
      });

      it("the blob read back through the API is the blob as sent", async () => {
        for (const [i, blob] of blobs.entries()) {
          const res = await call(
            c.vault,
            c.vault.getValue,
            { storeId: "plaintext-probe", key: keys[i], previousKeys: [] },
            bearer(t.adminToken),
          );
          expect(Buffer.from(res.entry?.sealedValue ?? []).equals(blob)).toBe(true);
        }
      });

      it("no blob is in the database's files while the server runs, in any encoding", async () => {
        expect(await traces()).toEqual([]);
      });

      it("nor once the server has stopped cleanly and every page is in the database's own files", async () => {
        c.close();
        await t.server.close();
        // SQLite folds its WAL into hexclave.db on close; PostgreSQL writes its pages at a checkpoint.
        const home = backend.name === "sqlite" ? "hexclave.db" : "base/";
        if (backend.name === "postgres") {
          const rows = databaseRows(storage);
          await rows.run("checkpoint");
          await rows.close();
        }
        const described = scanForNeedles(await diskFiles(storage), [
          { label: "description", bytes: Buffer.from(DESCRIPTION) },
        ]);
        expect(described.some((hit) => hit.startsWith(home))).toBe(true);
        expect(await traces()).toEqual([]);
        // Restart on the same storage so afterAll's close has a server to stop.
        t = await startTestServer({ dataDir: storage.dataDir, databaseUrl: storage.databaseUrl });
        c = rawClients(t.address);
      });
    });
  },
  { ownCluster: true },
);
