import { masterKeyId } from "../crypto/at-rest.js";
import { freshTokenRow, hashTokenSecret, parseAccessToken } from "./access-token.js";
import { AdminPlane } from "./admin-plane.js";
import { pruneAudit } from "./audit-retention.js";
import { Authenticator } from "./authenticator.js";
import { DataKeyRing } from "./data-key-ring.js";
import { DataPlane } from "./data-plane.js";
import { EntryCache } from "./entry-cache.js";
import { EntryReader } from "./entry-reader.js";
import type { Storage, StorageReads } from "./storage-port.js";
import { StoreDirectory } from "./store-directory.js";

/** Options for {@link openVault}. */
export interface VaultOptions {
  readonly storage: Storage;
  /** 32 bytes; wraps the data key of every store created from now on. */
  readonly masterKey: Buffer;
  /** Master keys stores may still be wrapped under (a master-key rotation in progress). */
  readonly previousMasterKeys?: readonly Buffer[];
  /** An operator-given admin token (HEXCLAVE_ADMIN_TOKEN), never stored. */
  readonly bootstrapAdminToken?: string | undefined;
  /**
   * Bytes of recently used entries kept in memory (see EntryCache); 0 turns
   * the cache off. Ignored (off) when the storage is shared with other
   * processes: their writes would make it stale.
   */
  readonly entryCacheBytes: number;
  /** Told about background failures (store purges, expiry sweeps), which have no caller to tell. */
  readonly onBackgroundError?: (error: unknown, context: string) => void;
  /** How often expired entries are swept. Default 5 s. */
  readonly sweepIntervalMs?: number;
  /** Audit records older than this are pruned, hourly; undefined: kept forever. */
  readonly auditRetentionMs?: number | undefined;
}

/** The vault: both planes over one storage and one set of caches. */
export interface Vault {
  readonly data: DataPlane;
  readonly admin: AdminPlane;
  readonly authenticator: Authenticator;
  /** Whether the database holds any token, revoked or not. */
  hasTokens(): Promise<boolean>;
  /**
   * Stores `token` (a full `hxk_…` token) as the first admin token, if the
   * database has no token at all.
   * @returns true if it was stored; false if another token got there first.
   * @throws Error if `token` is not a well-formed access token.
   */
  adoptFirstAdminToken(token: string): Promise<boolean>;
  /** The entry cache's use since start, for metrics (all zero when it is off: shared databases). */
  cacheStats(): { readonly hits: number; readonly misses: number; readonly bytes: number };
  /** Stops background work (purges, sweeps, refreshes) and zeroes keys. The storage stays open. */
  close(): Promise<void>;
}

/** Rows purged per transaction when a deleted store is cleaned up: short transactions keep writes flowing. */
const PURGE_CHUNK = 2000;
/** Expired entries deleted per transaction by the sweeper. */
const SWEEP_CHUNK = 1000;

/**
 * Assembles the vault, resumes unfinished store purges and starts the
 * expiry sweeper.
 *
 * @throws Error if the master key is not the one existing stores were written with.
 * @example
 * const vault = await openVault({ storage, masterKey, entryCacheBytes: 32 << 20 });
 */
export async function openVault(options: VaultOptions): Promise<Vault> {
  const { storage, masterKey } = options;
  const masterKeys = [masterKey, ...(options.previousMasterKeys ?? [])];
  const reads = storage.reads;
  await assertMasterKeysMatch(reads, masterKeys);
  // Another process's writes are seen within a second: that bounds how late a
  // deleted store or a retired secret is noticed here (docs/storage.md,
  // "Coherence across processes"). Trusted for less than the second, so the
  // reload and the call itself fit inside it.
  const ttl = storage.shared ? { cacheTtlMs: 750 } : {};
  const keys = new DataKeyRing(masterKeys);
  const stores = new StoreDirectory(reads, keys, ttl);
  const cache = new EntryCache(storage.shared ? 0 : options.entryCacheBytes);
  const authenticator = new Authenticator(reads, storage, {
    bootstrapAdminToken: options.bootstrapAdminToken,
  });
  const report = options.onBackgroundError ?? (() => {});
  const stopping = new AbortController();
  const purges = new Set<Promise<void>>();

  const purge = (storeUid: Buffer): void => {
    const running = purgeStore(storage, storeUid, stopping.signal)
      .catch((error: unknown) => {
        if (!stopping.signal.aborted) report(error, "store purge");
      })
      .finally(() => purges.delete(running));
    purges.add(running);
  };

  const data = new DataPlane({
    reads,
    stores,
    entries: new EntryReader(reads, cache),
    cache,
    storage,
  });
  const admin = new AdminPlane({ reads, stores, cache, storage, authenticator, masterKey, purge });
  for (const uid of await reads.listDeletedStoreUids()) purge(uid);
  const sweeper = startSweeper(storage, cache, options.sweepIntervalMs ?? 5_000, report);
  const retention = options.auditRetentionMs;
  const pruner =
    retention === undefined
      ? undefined
      : startPruner(() => pruneAudit(storage, masterKey, Date.now() - retention), report);

  return {
    data,
    admin,
    authenticator,
    cacheStats: () => ({ ...cache.counts, bytes: cache.bytes }),
    async hasTokens() {
      return (await reads.countTokens()) > 0;
    },
    async adoptFirstAdminToken(token) {
      const parsed = parseAccessToken(token);
      if (parsed === undefined) throw new Error("the first admin token is not an hxk_ token");
      const row = freshTokenRow({
        id: parsed.id,
        name: "bootstrap-admin",
        secretHash: hashTokenSecret(parsed.secret),
        admin: true,
        grants: [],
      });
      const stored = await storage.write({ kind: "insertToken", row, onlyIfNone: true });
      if (stored) authenticator.forget();
      return stored;
    },
    async close() {
      stopping.abort();
      clearInterval(sweeper);
      if (pruner !== undefined) clearInterval(pruner);
      authenticator.close();
      await Promise.allSettled([...purges]);
      stores.clear();
      cache.clear();
      keys.clear();
    },
  };
}

async function purgeStore(storage: Storage, storeUid: Buffer, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const purged = await storage.write({ kind: "purgeEntries", storeUid, limit: PURGE_CHUNK });
    if (purged === 0) break;
  }
  if (signal.aborted) return;
  await storage.write({ kind: "deleteStoreRows", storeUid });
  await storage.scrub();
}

/**
 * Deletes expired entries in the background, a bounded batch per transaction
 * until none is left, every `intervalMs`. Reads never return an expired
 * entry whether or not it has been swept yet.
 */
function startSweeper(
  storage: Storage,
  cache: EntryCache,
  intervalMs: number,
  report: (error: unknown, context: string) => void,
): NodeJS.Timeout {
  let running = false;
  const timer = setInterval(() => {
    if (running || storage.condition !== "ok") return;
    running = true;
    void (async () => {
      try {
        for (;;) {
          const { swept, removed } = await storage.write({
            kind: "sweepExpired",
            now: Date.now(),
            limit: SWEEP_CHUNK,
          });
          for (const { storeUid, keyId } of removed) cache.written(storeUid, undefined, [keyId]);
          if (swept < SWEEP_CHUNK) break;
        }
      } catch (error) {
        report(error, "expiry sweep");
      } finally {
        running = false;
      }
    })();
  }, intervalMs);
  timer.unref();
  return timer;
}

/** Runs the audit pruner now and every hour. */
function startPruner(
  prune: () => Promise<number>,
  report: (error: unknown, context: string) => void,
): NodeJS.Timeout {
  const run = (): void => {
    prune().catch((error: unknown) => report(error, "audit retention"));
  };
  setImmediate(run);
  const timer = setInterval(run, 3_600_000);
  timer.unref();
  return timer;
}

async function assertMasterKeysMatch(
  reads: StorageReads,
  masterKeys: readonly Buffer[],
): Promise<void> {
  const ids = masterKeys.map((k) => masterKeyId(k));
  const mismatched = (await reads.listStores()).filter(
    (s) => !ids.some((id) => id.equals(s.masterKeyId)),
  );
  if (mismatched.length > 0) {
    throw new Error(
      `the master key (id ${ids.map((id) => id.toString("hex")).join(", ")}) is not the one stores ${mismatched
        .map((s) => `"${s.id}"`)
        .join(", ")} were created with (id ${mismatched[0]?.masterKeyId.toString("hex")}): ` +
        "start with the original HEXCLAVE_MASTER_KEY / --master-key-file",
    );
  }
}
