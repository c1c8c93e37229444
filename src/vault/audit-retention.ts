import { masterKeyId } from "../crypto/at-rest.js";
import { auditKey } from "../crypto/audit-mac.js";
import type { Storage } from "./storage-port.js";
import { checkpointMac } from "./verify-audit.js";

/**
 * Prunes audit records older than the retention, chain by chain, leaving a
 * checkpoint — the last pruned record's hash, MACed under the audit key — so
 * what remains still verifies from there and a moved checkpoint is noticed.
 *
 * @returns how many records were pruned.
 * @example
 * await pruneAudit(storage, masterKey, Date.now() - 90 * 86_400_000);
 */
export async function pruneAudit(
  storage: Storage,
  masterKey: Buffer,
  before: number,
): Promise<number> {
  const key = auditKey(masterKey);
  const keyId = masterKeyId(masterKey);
  let pruned = 0;
  for (const last of await storage.reads.auditPrefixBefore(before)) {
    const prunedAt = Date.now();
    const checkpoint = { chainId: last.chainId, seq: last.seq, hash: last.hash, prunedAt };
    pruned += await storage.write({
      kind: "pruneAudit",
      checkpoint: { ...checkpoint, keyId, mac: checkpointMac(key, checkpoint) },
    });
  }
  key.fill(0);
  return pruned;
}
