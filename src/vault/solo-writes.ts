import type { DataKeyRing } from "./data-key-ring.js";
import { sealedSize, storeNotFound } from "./entry-rules.js";
import type { CountDelta, EntryDelete, WriteTransaction } from "./storage-port.js";
import { VaultError } from "./vault-error.js";
import type { WriteCommand, WriteResults } from "./write-commands.js";

/** A solo command's result, and what to do once its transaction has committed. */
export interface SoloResult {
  readonly value: unknown;
  readonly committed: () => void;
}

const NOTHING = (): void => {};

/**
 * Runs a command that takes a transaction of its own (SOLO_COMMANDS): store
 * and token administration, purges, expiry sweeps, key re-wrapping. Each
 * relies on a database rule: a unique live store id, a conditional update,
 * a held store.
 *
 * @throws VaultError when a check refuses the command (nothing written).
 */
export async function runSoloCommand(
  command: WriteCommand,
  tx: WriteTransaction,
  keys: DataKeyRing,
): Promise<SoloResult> {
  switch (command.kind) {
    case "retireSecret": {
      // Taking the store keeps writes under this secret out until commit.
      const store = await tx.takeVersions(command.storeUid, 0);
      if (store === undefined || store.id !== command.storeId) throw storeNotFound(command.storeId);
      const secrets = await tx.listSecrets(command.storeUid);
      const hex = command.fingerprint.toString("hex");
      if (!secrets.some((s) => s.fingerprint.equals(command.fingerprint))) {
        return done({ secrets: undefined } satisfies WriteResults["retireSecret"]);
      }
      // The entries are the authority, not the counters; expired ones still hold the secret.
      const remaining = await tx.listEntries(command.storeUid, {
        fingerprints: [command.fingerprint],
        afterKeyId: undefined,
        limit: 1,
        now: 0,
      });
      if (remaining.length > 0) {
        throw new VaultError(
          "SECRET_IN_USE",
          `entries in store "${command.storeId}" are still sealed under secret ${hex}: re-seal them first ("hexclave rotate-secret ${command.storeId}")`,
          { metadata: { store_id: command.storeId, fingerprint: hex } },
        );
      }
      await tx.deleteSecret(command.storeUid, command.fingerprint);
      return done({
        secrets: secrets.filter((s) => !s.fingerprint.equals(command.fingerprint)),
      } satisfies WriteResults["retireSecret"]);
    }
    case "createStore": {
      if (!(await tx.insertStore(command.row))) {
        throw new VaultError("STORE_ALREADY_EXISTS", `store "${command.row.id}" already exists`, {
          metadata: { store_id: command.row.id },
        });
      }
      return done(undefined);
    }
    case "destroyStoreKey": {
      const store = await tx.destroyStoreKey(command.storeId, Date.now());
      if (store === undefined) throw storeNotFound(command.storeId);
      const result: WriteResults["destroyStoreKey"] = {
        storeUid: store.uid,
        entryCount: store.entryCount,
      };
      return { value: result, committed: () => keys.drop(store.uid) };
    }
    case "purgeEntries":
      return done(await tx.purgeEntries(command.storeUid, command.limit));
    case "deleteStoreRows":
      await tx.deleteStoreRows(command.storeUid);
      return done(undefined);
    case "sweepExpired":
      return done(await sweepExpired(tx, command.now, command.limit));
    case "insertToken":
      return done(await tx.insertToken(command.row, command.onlyIfNone));
    case "revokeToken": {
      const token = await tx.revokeToken(command.tokenId, Date.now());
      if (token === undefined) {
        throw new VaultError("TOKEN_NOT_FOUND", `token "${command.tokenId}" does not exist`, {
          metadata: { token_id: command.tokenId },
        });
      }
      return done(token satisfies WriteResults["revokeToken"]);
    }
    case "rewrapStoreKey":
      return done(
        await tx.rewrapStoreKey(
          command.storeUid,
          command.fromMasterKeyId,
          command.wrappedKey,
          command.masterKeyId,
        ),
      );
    case "pruneAudit":
      return done(await tx.pruneAudit(command.checkpoint));
    case "startDashboardSession":
      await tx.insertDashboardSession(command.row, Date.now());
      return done(undefined);
    case "endDashboardSession":
      return done(await tx.deleteDashboardSession(command.idHash));
    default:
      throw new Error(`${command.kind} is not a solo command`);
  }
}

function done(value: unknown): SoloResult {
  return { value, committed: NOTHING };
}

/**
 * Deletes entries that have expired, a bounded batch at a time: each store
 * is taken first, so a write racing the sweeper either lands before (and its
 * row is then not expired, or not at the version swept) or after.
 */
async function sweepExpired(
  tx: WriteTransaction,
  now: number,
  limit: number,
): Promise<WriteResults["sweepExpired"]> {
  const expired = await tx.listExpired(now, limit);
  const byStore = new Map<string, typeof expired>();
  for (const row of expired) {
    const key = row.storeUid.toString("hex");
    byStore.set(key, [...(byStore.get(key) ?? []), row]);
  }
  const removed: { storeUid: Buffer; keyId: Buffer }[] = [];
  for (const key of [...byStore.keys()].sort()) {
    const rows = byStore.get(key) ?? [];
    const storeUid = (rows[0] as (typeof rows)[0]).storeUid;
    if ((await tx.takeVersions(storeUid, 0)) === undefined) continue; // deleted: the purge gets them
    // Read again under the held store: only rows still expired, at the version seen, go.
    const current = await tx.getEntries(
      storeUid,
      rows.map((r) => r.keyId),
      null,
    );
    const gone = current.filter((r) => r.expiresAt !== null && r.expiresAt <= now);
    const deletes: EntryDelete[] = gone.map((r) => ({
      storeUid,
      keyId: r.keyId,
      version: r.version,
    }));
    if ((await tx.deleteEntries(deletes)) !== deletes.length) {
      throw new Error("an entry changed under a held store: the transaction is retried");
    }
    const counts = new Map<string, CountDelta>();
    for (const r of gone) {
      const hex = r.fingerprint.toString("hex");
      const sum = counts.get(hex);
      counts.set(hex, {
        storeUid,
        fingerprint: r.fingerprint,
        entries: (sum?.entries ?? 0) - 1,
        bytes: (sum?.bytes ?? 0) - sealedSize(r),
      });
      removed.push({ storeUid, keyId: r.keyId });
    }
    await tx.addCounts([...counts.values()]);
  }
  return { swept: removed.length, removed };
}
