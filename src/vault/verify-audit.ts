import { masterKeyId } from "../crypto/at-rest.js";
import { auditKey, auditMac } from "../crypto/audit-mac.js";
import { auditFields, GENESIS } from "./audit-chain.js";
import type { AuditCheckpoint, StorageReads } from "./storage-port.js";

/** Where a chain first breaks. */
export interface AuditBreak {
  readonly chainId: string;
  /** The record (seq) where verification stopped. */
  readonly seq: number;
  readonly problem: "missing" | "altered" | "out-of-order" | "unknown-key" | "checkpoint-altered";
  readonly detail: string;
}

/** What `audit verify` found. */
export interface AuditReport {
  readonly chains: number;
  readonly records: number;
  readonly breaks: readonly AuditBreak[];
}

const PAGE = 5000;

/**
 * Walks every audit chain from its start (or its retention checkpoint) and
 * recomputes each link with the audit key of the master key that made it.
 * Reports, per chain, the first record where the chain breaks: a gap in
 * the sequence (records deleted), a record whose contents do not give its
 * hash (altered), a record that does not follow the one before it
 * (reordered, or the one before altered), a checkpoint that was moved.
 *
 * What it cannot see: the newest records of a chain deleted together with
 * nothing after them (a truncated tail) — ship records off the machine
 * (--audit-stdout) to cover that (docs/audit.md).
 *
 * @example
 * const { breaks } = await verifyAudit(reads, [masterKey]);
 */
export async function verifyAudit(
  reads: StorageReads,
  masterKeys: readonly Buffer[],
  onProgress?: (records: number) => void,
): Promise<AuditReport> {
  const keys = new Map(masterKeys.map((k) => [masterKeyId(k).toString("hex"), auditKey(k)]));
  const breaks: AuditBreak[] = [];
  let records = 0;
  const chains = await reads.listAuditChains();
  for (const { chainId, checkpoint } of chains) {
    const start = startOf(chainId, checkpoint, keys);
    if ("problem" in start) {
      breaks.push(start);
      continue;
    }
    let { seq: lastSeq, hash: prev } = start;
    chain: for (;;) {
      const page = await reads.readAuditChain(chainId, lastSeq, PAGE);
      for (const record of page) {
        const fail = (problem: AuditBreak["problem"], detail: string): void => {
          breaks.push({
            chainId,
            seq: problem === "missing" ? lastSeq + 1 : record.seq,
            problem,
            detail,
          });
        };
        if (record.seq !== lastSeq + 1) {
          fail("missing", `records ${lastSeq + 1} to ${record.seq - 1} are missing: deleted`);
          break chain;
        }
        const key = keys.get(record.keyId.toString("hex"));
        if (key === undefined) {
          fail(
            "unknown-key",
            `made under master key ${record.keyId.toString("hex")}, which was not given`,
          );
          break chain;
        }
        if (!record.prevHash.equals(prev)) {
          fail(
            "out-of-order",
            "it does not follow the record before it: reordered, or the one before was altered",
          );
          break chain;
        }
        if (!auditMac(key, prev, auditFields(record)).equals(record.hash)) {
          fail("altered", "its contents do not give its hash: altered");
          break chain;
        }
        prev = record.hash;
        lastSeq = record.seq;
        records += 1;
      }
      onProgress?.(records);
      if (page.length < PAGE) break;
    }
  }
  return { chains: chains.length, records, breaks };
}

function startOf(
  chainId: string,
  checkpoint: AuditCheckpoint | undefined,
  keys: ReadonlyMap<string, Buffer>,
): { seq: number; hash: Buffer } | AuditBreak {
  if (checkpoint === undefined) return { seq: 0, hash: GENESIS };
  const key = keys.get(checkpoint.keyId.toString("hex"));
  const mac = key === undefined ? undefined : checkpointMac(key, checkpoint);
  if (mac === undefined || !mac.equals(checkpoint.mac)) {
    return {
      chainId,
      seq: checkpoint.seq,
      problem: "checkpoint-altered",
      detail: "the retention checkpoint was not made by this vault's master key: moved or forged",
    };
  }
  return { seq: checkpoint.seq, hash: checkpoint.hash };
}

/**
 * A retention checkpoint's MAC: the audit key over (chainId, seq, prunedAt)
 * chained from the last pruned record's hash.
 */
export function checkpointMac(
  key: Buffer,
  checkpoint: Pick<AuditCheckpoint, "chainId" | "seq" | "hash" | "prunedAt">,
): Buffer {
  return auditMac(key, checkpoint.hash, [checkpoint.chainId, checkpoint.seq, checkpoint.prunedAt]);
}
