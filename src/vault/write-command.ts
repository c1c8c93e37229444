import type { ValidKeyRef } from "./assertions.js";
import type { DataKeyRing } from "./data-key-ring.js";
import type { RepositoryTransaction, SecretRow, StoreRow, TokenRow } from "./repository.js";
import type { WriteBatch } from "./write-batcher.js";

/**
 * Every write the vault makes, as plain data. A command carries everything its
 * transaction needs, so it can run in this thread or be posted to the writer
 * thread unchanged; the checks it makes inside the transaction are the ones
 * that must see committed state (versions, registered secrets, live stores).
 */
export type WriteCommand =
  | SetValueCommand
  | DeleteValueCommand
  | RegisterSecretCommand
  | RetireSecretCommand
  | CreateStoreCommand
  | DestroyStoreKeyCommand
  | PurgeEntriesCommand
  | DeleteStoreRowsCommand
  | InsertTokenCommand
  | RevokeTokenCommand
  | TouchTokensCommand;

/** Writes one entry, removing it under previous key ids; registers the secret if allowed. */
export interface SetValueCommand {
  readonly kind: "setValue";
  readonly storeId: string;
  readonly storeUid: Buffer;
  readonly key: ValidKeyRef;
  readonly previous: readonly ValidKeyRef[];
  /** The client's envelope; sealed again at rest inside the command. */
  readonly sealed: Buffer;
  readonly expected: number | undefined;
}

/** Deletes one entry under every given key id. */
export interface DeleteValueCommand {
  readonly kind: "deleteValue";
  readonly storeId: string;
  readonly storeUid: Buffer;
  readonly refs: readonly ValidKeyRef[];
  readonly expected: number | undefined;
}

/** Registers a secret, guarded by a known one. */
export interface RegisterSecretCommand {
  readonly kind: "registerSecret";
  readonly storeId: string;
  readonly storeUid: Buffer;
  readonly fingerprint: Buffer;
  readonly known: Buffer | undefined;
}

/** Retires a secret no entry is sealed under. */
export interface RetireSecretCommand {
  readonly kind: "retireSecret";
  readonly storeId: string;
  readonly storeUid: Buffer;
  readonly fingerprint: Buffer;
}

/** Inserts a new store (its data key already wrapped). */
export interface CreateStoreCommand {
  readonly kind: "createStore";
  readonly row: StoreRow;
}

/** First step of deleting a store: destroys its wrapped key and hides it. */
export interface DestroyStoreKeyCommand {
  readonly kind: "destroyStoreKey";
  readonly storeId: string;
}

/** Deletes a chunk of a deleted store's entries. */
export interface PurgeEntriesCommand {
  readonly kind: "purgeEntries";
  readonly storeUid: Buffer;
  readonly limit: number;
}

/** Last step of deleting a store: its own rows. */
export interface DeleteStoreRowsCommand {
  readonly kind: "deleteStoreRows";
  readonly storeUid: Buffer;
}

/** Inserts a token; with onlyIfNone, only into a database without tokens (the first admin token). */
export interface InsertTokenCommand {
  readonly kind: "insertToken";
  readonly row: TokenRow;
  readonly onlyIfNone: boolean;
}

/** Revokes a token. */
export interface RevokeTokenCommand {
  readonly kind: "revokeToken";
  readonly tokenId: string;
}

/** Records that tokens were used. */
export interface TouchTokensCommand {
  readonly kind: "touchTokens";
  readonly ids: readonly string[];
  readonly at: number;
}

/** What each command resolves with: what the caller's thread must know or update after commit. */
export interface WriteResults {
  setValue: {
    readonly version: number;
    readonly updatedAt: number;
    /** Key ids whose rows the write removed (previous secrets' copies). */
    readonly removedKeyIds: readonly Buffer[];
    /** The store's secrets after the write, if it registered one. */
    readonly secrets: readonly SecretRow[] | undefined;
  };
  deleteValue: { readonly deleted: boolean; readonly removedKeyIds: readonly Buffer[] };
  registerSecret: { readonly secrets: readonly SecretRow[] | undefined };
  retireSecret: { readonly secrets: readonly SecretRow[] | undefined };
  createStore: undefined;
  destroyStoreKey: { readonly storeUid: Buffer; readonly entryCount: number };
  purgeEntries: number;
  deleteStoreRows: undefined;
  insertToken: boolean;
  revokeToken: TokenRow;
  touchTokens: undefined;
}

/** The result type of a command. */
export type ResultOf<C extends WriteCommand> = WriteResults[C["kind"]];

/** What commands need besides the transaction: the writer's own data keys. */
export interface WriteContext {
  readonly keys: DataKeyRing;
}

/** A command's implementation. */
export type CommandRunner<C extends WriteCommand> = (
  command: C,
  tx: RepositoryTransaction,
  batch: WriteBatch,
  context: WriteContext,
) => Promise<ResultOf<C>>;
