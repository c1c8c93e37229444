import { storeNotFound } from "./entry-rules.js";
import { VaultError } from "./vault-error.js";
import type {
  CommandRunner,
  CreateStoreCommand,
  DeleteStoreRowsCommand,
  DestroyStoreKeyCommand,
  InsertTokenCommand,
  PurgeEntriesCommand,
  RevokeTokenCommand,
  TouchTokensCommand,
} from "./write-command.js";

/** Inserts a store unless a live one has the id. */
export const runCreateStore: CommandRunner<CreateStoreCommand> = async (cmd, tx) => {
  if ((await tx.findStore(cmd.row.id)) !== undefined) {
    throw new VaultError("STORE_ALREADY_EXISTS", `store "${cmd.row.id}" already exists`, {
      metadata: { store_id: cmd.row.id },
    });
  }
  await tx.insertStore(cmd.row);
  return undefined;
};

/** Destroys a store's wrapped key: from this commit on its entries cannot be opened. */
export const runDestroyStoreKey: CommandRunner<DestroyStoreKeyCommand> = async (
  cmd,
  tx,
  batch,
  context,
) => {
  const live = await tx.findStore(cmd.storeId);
  if (live === undefined) throw storeNotFound(cmd.storeId);
  await tx.destroyStoreKey(live.uid, Date.now());
  batch.storeGone(cmd.storeId);
  batch.afterCommit(() => context.keys.drop(live.uid));
  return { storeUid: live.uid, entryCount: live.entryCount };
};

/** Deletes a chunk of a deleted store's entries; returns how many. */
export const runPurgeEntries: CommandRunner<PurgeEntriesCommand> = (cmd, tx) =>
  tx.purgeEntries(cmd.storeUid, cmd.limit);

/** Deletes a deleted store's own rows. */
export const runDeleteStoreRows: CommandRunner<DeleteStoreRowsCommand> = async (cmd, tx) => {
  await tx.deleteStoreRows(cmd.storeUid);
  return undefined;
};

/** Inserts a token; with onlyIfNone, only if there is no token yet. */
export const runInsertToken: CommandRunner<InsertTokenCommand> = async (cmd, tx) => {
  if (cmd.onlyIfNone && (await tx.countTokens()) > 0) return false;
  await tx.insertToken(cmd.row);
  return true;
};

/** Revokes a token (idempotent); returns its record. */
export const runRevokeToken: CommandRunner<RevokeTokenCommand> = async (cmd, tx) => {
  const found = await tx.findToken(cmd.tokenId);
  if (found === undefined) {
    throw new VaultError("TOKEN_NOT_FOUND", `token "${cmd.tokenId}" does not exist`, {
      metadata: { token_id: cmd.tokenId },
    });
  }
  const revokedAt = found.revokedAt ?? Date.now();
  await tx.revokeToken(cmd.tokenId, revokedAt);
  return { ...found, revokedAt };
};

/** Records token use. */
export const runTouchTokens: CommandRunner<TouchTokensCommand> = async (cmd, tx) => {
  await tx.touchTokens(cmd.ids, cmd.at);
  return undefined;
};
