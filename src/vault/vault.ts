import { masterKeyId } from "../crypto/at-rest.js";
import { hashTokenSecret, parseAccessToken } from "./access-token.js";
import { AdminPlane } from "./admin-plane.js";
import { Authenticator } from "./authenticator.js";
import { DataKeyRing } from "./data-key-ring.js";
import { DataPlane } from "./data-plane.js";
import { EntryCache } from "./entry-cache.js";
import { EntryReader } from "./entry-reader.js";
import type { RepositoryReads } from "./repository.js";
import { StoreDirectory } from "./store-directory.js";
import type { WriteExecutor } from "./write-executor.js";

/** Options for {@link openVault}. */
export interface VaultOptions {
  /** Reads for the calls' thread. */
  readonly reads: RepositoryReads;
  /** Where writes run (this thread, or the writer thread). */
  readonly writes: WriteExecutor;
  /** 32 bytes; wraps every store's data key. */
  readonly masterKey: Buffer;
  /** An operator-given admin token (HEXCLAVE_ADMIN_TOKEN), never stored. */
  readonly bootstrapAdminToken?: string | undefined;
  /** How long tokens and stores are trusted from memory; see Authenticator and StoreDirectory. */
  readonly cacheTtlMs?: number;
  /**
   * Bytes of recently used entries kept in memory (see EntryCache); 0 turns
   * the cache off, as a server sharing its database with other writers must.
   */
  readonly entryCacheBytes: number;
  /** Told about background failures (store purges), which have no caller to tell. */
  readonly onBackgroundError?: (error: unknown, context: string) => void;
}

/** The vault: both planes over one set of reads, one write executor and one set of caches. */
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
  /** Stops purges, commits queued writes, zeroes keys. The reads stay open. */
  close(): Promise<void>;
}

/** Rows purged per transaction when a deleted store is cleaned up: short transactions keep writes flowing. */
const PURGE_CHUNK = 2000;

/**
 * Assembles the vault and resumes unfinished store purges.
 *
 * @throws Error if the master key is not the one existing stores were written with.
 * @example
 * const vault = await openVault({ reads, writes, masterKey, entryCacheBytes: 32 << 20 });
 */
export async function openVault(options: VaultOptions): Promise<Vault> {
  const { reads, writes, masterKey } = options;
  await assertMasterKeyMatches(reads, masterKey);
  const ttl = options.cacheTtlMs === undefined ? {} : { cacheTtlMs: options.cacheTtlMs };
  const keys = new DataKeyRing(masterKey);
  const stores = new StoreDirectory(reads, keys, ttl);
  const cache = new EntryCache(options.entryCacheBytes);
  const authenticator = new Authenticator(reads, writes, {
    bootstrapAdminToken: options.bootstrapAdminToken,
  });
  const report = options.onBackgroundError ?? (() => {});
  const stopping = new AbortController();
  const purges = new Set<Promise<void>>();

  const purge = (storeUid: Buffer): void => {
    const running = purgeStore(writes, storeUid, stopping.signal)
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
    writes,
  });
  const admin = new AdminPlane({ reads, stores, cache, writes, authenticator, masterKey, purge });
  for (const uid of await reads.listDeletedStoreUids()) purge(uid);

  return {
    data,
    admin,
    authenticator,
    async hasTokens() {
      return (await reads.countTokens()) > 0;
    },
    async adoptFirstAdminToken(token) {
      const parsed = parseAccessToken(token);
      if (parsed === undefined) throw new Error("the first admin token is not an hxk_ token");
      const row = {
        id: parsed.id,
        name: "bootstrap-admin",
        secretHash: hashTokenSecret(parsed.secret),
        admin: true,
        grants: [],
        createdAt: Date.now(),
        lastUsedAt: null,
        revokedAt: null,
      };
      return writes.run({ kind: "insertToken", row, onlyIfNone: true });
    },
    async close() {
      stopping.abort();
      authenticator.close();
      await Promise.allSettled([...purges]);
      await writes.close();
      stores.clear();
      cache.clear();
      keys.clear();
    },
  };
}

async function purgeStore(
  writes: WriteExecutor,
  storeUid: Buffer,
  signal: AbortSignal,
): Promise<void> {
  while (!signal.aborted) {
    const purged = await writes.run({ kind: "purgeEntries", storeUid, limit: PURGE_CHUNK });
    if (purged === 0) break;
  }
  if (signal.aborted) return;
  await writes.run({ kind: "deleteStoreRows", storeUid });
  await writes.scrub();
}

async function assertMasterKeyMatches(reads: RepositoryReads, masterKey: Buffer): Promise<void> {
  const id = masterKeyId(masterKey);
  const mismatched = (await reads.listStores()).filter((s) => !s.masterKeyId.equals(id));
  if (mismatched.length > 0) {
    throw new Error(
      `the master key (id ${id.toString("hex")}) is not the one stores ${mismatched
        .map((s) => `"${s.id}"`)
        .join(", ")} were created with (id ${mismatched[0]?.masterKeyId.toString("hex")}): ` +
        "start with the original HEXCLAVE_MASTER_KEY / --master-key-file",
    );
  }
}
