import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, call, type RawClients, rawClients } from "../support/grpc-clients.js";
import { encodedForms, filesContaining, occurrences } from "../support/sqlite-files.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { createStore, keyRef, newFingerprint, setValue } from "../support/vault-fixtures.js";

/**
 * Threat: someone with the disk, or a copy of it, reads what clients stored.
 * Clients send sealed blobs; the server seals each again with its store's key
 * before it touches SQLite. So the blob as sent must not appear in the
 * database, its WAL or its shared-memory file, in any encoding.
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

/** Every place any form of the blob, or of one of its windows, is found. */
function traces(dataDir: string, blob: Buffer): string[] {
  const found = occurrences(dataDir, blob);
  for (const window of windows(blob)) {
    // Raw and hex windows are position-independent; base64 is covered whole above.
    for (const { form, bytes } of encodedForms(window).slice(0, 3)) {
      for (const file of filesContaining(dataDir, bytes)) found.push(`${file}: ${form} window`);
    }
  }
  return found;
}

let t: TestServer;
let c: RawClients;
const blobs = [recognisableBlob(200), recognisableBlob(3000), recognisableBlob(60_000)];
const keys = blobs.map(() => keyRef(fp));

beforeAll(async () => {
  t = await startTestServer();
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
  if (t !== undefined) await rm(t.dataDir, { recursive: true, force: true });
});

describe("the disk never holds a sealed blob as sent", () => {
  it("the scan finds what is stored as given (the description and the raw key ids), so it can see", () => {
    expect(filesContaining(t.dataDir, Buffer.from(DESCRIPTION)).length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(filesContaining(t.dataDir, key.keyId).length).toBeGreaterThan(0);
    }
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

  it("no blob is in hexclave.db, -wal or -shm while the server runs, in any encoding", () => {
    for (const blob of blobs) expect(traces(t.dataDir, blob)).toEqual([]);
  });

  it("nor after a clean stop has folded the WAL into the database file", async () => {
    const dataDir = t.dataDir;
    c.close();
    await t.server.close();
    expect(filesContaining(dataDir, Buffer.from(DESCRIPTION))).toContain("hexclave.db");
    for (const blob of blobs) expect(traces(dataDir, blob)).toEqual([]);
    // Restart on the same directory so afterAll's close has a server to stop.
    t = await startTestServer({ dataDir });
    c = rawClients(t.address);
  });
});
