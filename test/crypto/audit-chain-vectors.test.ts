import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { masterKeyId } from "../../src/crypto/at-rest.js";
import { auditKey, auditMac } from "../../src/crypto/audit-mac.js";
import { auditFields } from "../../src/vault/audit-chain.js";
import { checkpointMac } from "../../src/vault/verify-audit.js";

/**
 * The audit chain format against its published vectors (test/vectors/audit-v1.json),
 * and docs/audit.md's worked example against the same vectors, so an independent
 * verifier written from the page and this server cannot disagree silently. The
 * link is also recomputed here from the page's byte-level description alone.
 */

interface VectorRecord {
  readonly chainId: string;
  readonly seq: number;
  readonly at: number;
  readonly requestId: string;
  readonly tokenId: string | null;
  readonly method: string;
  readonly storeId: string | null;
  readonly keyIdPrefix: string | null;
  readonly code: number;
  readonly reason: string;
  readonly peer: string;
  readonly clientIdentity: string | null;
  readonly prevHash: string;
  readonly hash: string;
}

const vectors = JSON.parse(
  readFileSync(new URL("../vectors/audit-v1.json", import.meta.url), "utf8"),
) as {
  masterKey: string;
  masterKeyId: string;
  auditKey: string;
  records: VectorRecord[];
  checkpoint: { chainId: string; seq: number; hash: string; prunedAt: number; mac: string };
};
const doc = readFileSync(new URL("../../docs/audit.md", import.meta.url), "utf8");
const masterKey = Buffer.from(vectors.masterKey, "hex");

/** docs/audit.md's F(x): 4-byte big-endian length and UTF-8 bytes, or ff ff ff ff for null. */
function field(value: string | number | null): Buffer {
  if (value === null) return Buffer.from([0xff, 0xff, 0xff, 0xff]);
  const bytes = Buffer.from(String(value), "utf8");
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

describe("audit chain vectors", () => {
  it("derives the master key id and the audit key", () => {
    expect(masterKeyId(masterKey).toString("hex")).toBe(vectors.masterKeyId);
    expect(auditKey(masterKey).toString("hex")).toBe(vectors.auditKey);
  });

  it("links each record to the one before it with the published hash", () => {
    const key = auditKey(masterKey);
    for (const record of vectors.records) {
      const prev = Buffer.from(record.prevHash, "hex");
      expect(auditMac(key, prev, auditFields(record)).toString("hex")).toBe(record.hash);
      // The same from the page's description alone.
      const message = Buffer.concat([
        prev,
        ...[
          record.chainId,
          record.seq,
          record.at,
          record.requestId,
          record.tokenId,
          record.method,
          record.storeId,
          record.keyIdPrefix,
          record.code,
          record.reason,
          record.peer,
          record.clientIdentity,
        ].map(field),
      ]);
      expect(createHmac("sha256", key).update(message).digest("hex")).toBe(record.hash);
    }
  });

  it("macs a retention checkpoint as published", () => {
    const { chainId, seq, hash, prunedAt, mac } = vectors.checkpoint;
    const key = auditKey(masterKey);
    expect(
      checkpointMac(key, { chainId, seq, hash: Buffer.from(hash, "hex"), prunedAt }).toString(
        "hex",
      ),
    ).toBe(mac);
  });

  it("docs/audit.md shows the same values", () => {
    for (const value of [
      vectors.masterKeyId,
      vectors.auditKey,
      ...vectors.records.map((r) => r.hash),
      vectors.checkpoint.mac,
    ]) {
      expect(doc).toContain(value);
    }
  });
});
