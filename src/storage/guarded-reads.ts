import type { StorageCondition, StorageReads } from "../vault/storage-port.js";
import type { Failure } from "./group-commit.js";

/**
 * Wraps an adapter's reads so a driver failure reaches the vault as what it
 * means (STORAGE_UNAVAILABLE, DATA_CORRUPTED, …) and the condition it shows
 * is reported: a read that hits a damaged page turns health NOT_SERVING just
 * as a write would.
 *
 * @example
 * const reads = guardedReads(new KyselyReads(db, hot), sqliteFailure, tracker.report);
 */
export function guardedReads(
  reads: StorageReads,
  classify: (error: unknown) => Failure,
  report: (condition: StorageCondition, cause: unknown) => void,
): StorageReads {
  const fail = (error: unknown): never => {
    const failure = classify(error);
    if (failure.condition !== undefined) report(failure.condition, error);
    throw failure.error;
  };
  return {
    findStore: (id) => reads.findStore(id).catch(fail),
    listStores: () => reads.listStores().catch(fail),
    listSecrets: (uid) => reads.listSecrets(uid).catch(fail),
    expiredBacklog: (uid, now) => reads.expiredBacklog(uid, now).catch(fail),
    getEntries: (uid, keyIds, now) => reads.getEntries(uid, keyIds, now).catch(fail),
    listEntries: (uid, query) => reads.listEntries(uid, query).catch(fail),
    listTokens: (includeRevoked) => reads.listTokens(includeRevoked).catch(fail),
    countTokens: () => reads.countTokens().catch(fail),
    listDeletedStoreUids: () => reads.listDeletedStoreUids().catch(fail),
    listAudit: (query) => reads.listAudit(query).catch(fail),
    listAuditChains: () => reads.listAuditChains().catch(fail),
    readAuditChain: (id, after, limit) => reads.readAuditChain(id, after, limit).catch(fail),
    auditPrefixBefore: (before) => reads.auditPrefixBefore(before).catch(fail),
    findDashboardSession: (idHash) => reads.findDashboardSession(idHash).catch(fail),
  };
}
