import { createHash, randomBytes } from "node:crypto";
import type { AuditRecord } from "./audit-record.js";

/** An audit record as stored: in a hash chain of its writer's records. */
export interface ChainedAuditRecord extends AuditRecord {
  /** The writer's chain (one per server process and start). */
  readonly chainId: string;
  /** Position in the chain, from 1. */
  readonly seq: number;
  /** The previous record's hash (32 zero bytes for the first). */
  readonly prevHash: Buffer;
  /** SHA-256 over prevHash and the record's fields (docs/audit.md gives the encoding). */
  readonly hash: Buffer;
}

/**
 * One writer's audit hash chain. Each record's hash covers the one before,
 * so deleting, reordering or altering a stored record breaks the chain at
 * that record. Writers (server processes) each keep their own chain, so
 * appending never waits on another process.
 *
 * Records are chained inside a transaction and the chain's head moves only
 * when it commits: a rolled-back batch's records are chained again, from the
 * same head, by the next transaction.
 *
 * @example
 * const pending = chain.begin();
 * await tx.appendAudit(pending.chain(records));
 * // after commit:
 * pending.commit();
 */
export class AuditChain {
  readonly chainId: string;
  #seq = 0;
  #head: Buffer = GENESIS;

  constructor(chainId: string = randomBytes(8).toString("hex")) {
    this.chainId = chainId;
  }

  /** Starts chaining records for one transaction. */
  begin(): { chain(records: readonly AuditRecord[]): ChainedAuditRecord[]; commit(): void } {
    let seq = this.#seq;
    let head = this.#head;
    return {
      chain: (records) =>
        records.map((record) => {
          seq += 1;
          const chained = { ...record, chainId: this.chainId, seq, prevHash: head };
          const hash = auditHash(chained);
          head = hash;
          return { ...chained, hash };
        }),
      commit: () => {
        this.#seq = seq;
        this.#head = head;
      },
    };
  }
}

/** The previous hash of a chain's first record. */
export const GENESIS = Buffer.alloc(32);

/**
 * A record's hash: SHA-256 of the previous hash, then every field in a fixed
 * order, each as a 4-byte big-endian length and its UTF-8 bytes (numbers in
 * decimal, absent fields as length 0xffffffff) — unambiguous whatever the
 * fields hold.
 *
 * @example
 * const ok = auditHash(stored).equals(stored.hash);
 */
export function auditHash(record: Omit<ChainedAuditRecord, "hash">): Buffer {
  const hash = createHash("sha256").update(record.prevHash);
  const fields: (string | number | null)[] = [
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
  ];
  const length = Buffer.alloc(4);
  for (const field of fields) {
    if (field === null) {
      length.writeUInt32BE(0xffffffff);
      hash.update(length);
      continue;
    }
    const bytes = Buffer.from(String(field), "utf8");
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  }
  return hash.digest();
}
