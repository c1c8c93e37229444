import { randomBytes } from "node:crypto";
import { masterKeyId } from "../crypto/at-rest.js";
import { auditKey, auditMac } from "../crypto/audit-mac.js";
import type { AuditRecord } from "./audit-record.js";

/** An audit record as stored: a link in its writer's chain. */
export interface ChainedAuditRecord extends AuditRecord {
  /** The writer's chain (one per server process and start). */
  readonly chainId: string;
  /** Position in the chain, from 1. */
  readonly seq: number;
  /** Id of the master key whose audit key made `hash`. */
  readonly keyId: Buffer;
  /** The previous record's hash (32 zero bytes for the first). */
  readonly prevHash: Buffer;
  /** HMAC-SHA256 under the audit key over prevHash and the record's fields (docs/audit.md). */
  readonly hash: Buffer;
}

/** The previous hash of a chain's first record. */
export const GENESIS = Buffer.alloc(32);

/**
 * One writer's audit chain. Each record's hash covers the one before and is
 * keyed by the master key, so deleting, reordering or altering a stored
 * record breaks the chain at that record, and no one without the master key
 * can recompute the chain to hide it. Writers (server processes) each keep
 * their own chain, so appending never waits on another process.
 *
 * Records are chained inside a transaction and the chain's head moves only
 * when it commits: a rolled-back batch's records are chained again, from the
 * same head, by the next transaction.
 *
 * @example
 * const pending = chain.begin();
 * await tx.appendAudit(pending.chain(records));
 * pending.commit(); // after the transaction committed
 */
export class AuditChain {
  readonly #baseId: string;
  readonly #key: Buffer;
  readonly #keyId: Buffer;
  #chainId: string;
  #generation = 0;
  #seq = 0;
  #head: Buffer = GENESIS;

  constructor(masterKey: Uint8Array, chainId: string = randomBytes(8).toString("hex")) {
    this.#baseId = chainId;
    this.#chainId = chainId;
    this.#key = auditKey(masterKey);
    this.#keyId = masterKeyId(masterKey);
  }

  /** The chain records are appended to now. */
  get chainId(): string {
    return this.#chainId;
  }

  /**
   * Continues in a new chain. For when a transaction's outcome is unknown (the
   * database failed with its COMMIT on the way): its records may or may not
   * be stored, so this chain's head is unknown. The old chain stays valid up
   * to whatever was stored; the new one starts from the genesis hash.
   */
  restart(): void {
    this.#generation += 1;
    this.#chainId = `${this.#baseId}.${this.#generation}`;
    this.#seq = 0;
    this.#head = GENESIS;
  }

  /** Starts chaining records for one transaction. */
  begin(): { chain(records: readonly AuditRecord[]): ChainedAuditRecord[]; commit(): void } {
    const chainId = this.#chainId;
    let seq = this.#seq;
    let head = this.#head;
    return {
      chain: (records) =>
        records.map((record) => {
          seq += 1;
          const link = {
            ...record,
            chainId,
            seq,
            keyId: this.#keyId,
            prevHash: head,
          };
          const hash = auditMac(this.#key, head, auditFields(link));
          head = hash;
          return { ...link, hash };
        }),
      commit: () => {
        if (chainId !== this.#chainId) return; // restarted meanwhile
        this.#seq = seq;
        this.#head = head;
      },
    };
  }
}

/** A record's fields in the order its hash covers them (docs/audit.md). */
export function auditFields(
  record: Omit<ChainedAuditRecord, "hash" | "prevHash" | "keyId">,
): (string | number | null)[] {
  return [
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
}
