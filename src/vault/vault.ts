import { masterKeyId } from "../crypto/at-rest.js";
import { newAccessToken } from "./access-token.js";
import { AdminPlane } from "./admin-plane.js";
import { Authenticator } from "./authenticator.js";
import { DataPlane } from "./data-plane.js";
import type { Repository } from "./repository.js";
import { StoreDirectory } from "./store-directory.js";
import { WriteBatcher, type WriteBatcherOptions } from "./write-batcher.js";

/** Options for {@link openVault}. */
export interface VaultOptions {
  readonly repository: Repository;
  /** 32 bytes; wraps every store's data key. */
  readonly masterKey: Buffer;
  /** An operator-given admin token (HEXCLAVE_ADMIN_TOKEN), never stored. */
  readonly bootstrapAdminToken?: string | undefined;
  /** How long tokens and stores are trusted from memory; see Authenticator and StoreDirectory. */
  readonly cacheTtlMs?: number;
  readonly writes?: WriteBatcherOptions;
  /** Told about background failures (store purges), which have no caller to tell. */
  readonly onBackgroundError?: (error: unknown, context: string) => void;
}

/** The vault: both planes over one repository, one write queue and one set of caches. */
export interface Vault {
  readonly data: DataPlane;
  readonly admin: AdminPlane;
  readonly authenticator: Authenticator;
  readonly writes: WriteBatcher;
  /**
   * Creates the first admin token if the database has no token at all.
   * @returns the token text (to hand to the operator once), or undefined.
   */
  createFirstAdminToken(): Promise<string | undefined>;
  /** Finishes queued writes, stops purges, zeroes keys. The repository stays open. */
  close(): Promise<void>;
}

/** Rows purged per transaction when a deleted store is cleaned up: short transactions keep writes flowing. */
const PURGE_CHUNK = 2000;

/**
 * Assembles the vault and resumes unfinished store purges.
 *
 * @throws Error if the master key is not the one existing stores were written with.
 * @example
 * const vault = await openVault({ repository, masterKey });
 */
export async function openVault(options: VaultOptions): Promise<Vault> {
  const { repository, masterKey } = options;
  await assertMasterKeyMatches(repository, masterKey);
  const ttl = options.cacheTtlMs === undefined ? {} : { cacheTtlMs: options.cacheTtlMs };
  const writes = new WriteBatcher((work) => repository.transaction(work), options.writes);
  const stores = new StoreDirectory(repository, masterKey, ttl);
  const authenticator = new Authenticator(repository, writes, {
    ...ttl,
    bootstrapAdminToken: options.bootstrapAdminToken,
  });
  const report = options.onBackgroundError ?? (() => {});
  const stopping = new AbortController();
  const purges = new Set<Promise<void>>();

  const purge = (storeUid: Buffer): void => {
    const running = purgeStore(repository, writes, storeUid, stopping.signal)
      .catch((error: unknown) => {
        if (!stopping.signal.aborted) report(error, "store purge");
      })
      .finally(() => purges.delete(running));
    purges.add(running);
  };

  const data = new DataPlane({ repository, stores, batcher: writes });
  const admin = new AdminPlane({
    repository,
    stores,
    batcher: writes,
    authenticator,
    masterKey,
    purge,
  });
  for (const uid of await repository.listDeletedStoreUids()) purge(uid);

  return {
    data,
    admin,
    authenticator,
    writes,
    async createFirstAdminToken() {
      const made = newAccessToken();
      const created = await writes.submit(async (tx) => {
        if ((await tx.countTokens()) > 0) return false;
        await tx.insertToken({
          id: made.id,
          name: "bootstrap-admin",
          secretHash: made.secretHash,
          admin: true,
          grants: [],
          createdAt: Date.now(),
          lastUsedAt: null,
          revokedAt: null,
        });
        return true;
      });
      return created ? made.token : undefined;
    },
    async close() {
      stopping.abort();
      await writes.close();
      await Promise.allSettled([...purges]);
      stores.clear();
    },
  };
}

async function purgeStore(
  repository: Repository,
  writes: WriteBatcher,
  storeUid: Buffer,
  signal: AbortSignal,
): Promise<void> {
  while (!signal.aborted) {
    const purged = await writes.submit((tx) => tx.purgeEntries(storeUid, PURGE_CHUNK));
    if (purged === 0) break;
  }
  if (signal.aborted) return;
  await writes.submit((tx) => tx.deleteStoreRows(storeUid));
  await repository.scrub();
}

async function assertMasterKeyMatches(repository: Repository, masterKey: Buffer): Promise<void> {
  const id = masterKeyId(masterKey);
  const mismatched = (await repository.listStores()).filter((s) => !s.masterKeyId.equals(id));
  if (mismatched.length > 0) {
    throw new Error(
      `the master key (id ${id.toString("hex")}) is not the one stores ${mismatched
        .map((s) => `"${s.id}"`)
        .join(", ")} were created with (id ${mismatched[0]?.masterKeyId.toString("hex")}): ` +
        "start with the original HEXCLAVE_MASTER_KEY / --master-key-file",
    );
  }
}
