import type { ValidKeyRef } from "./assertions.js";
import type { AuditRecord } from "./audit-record.js";
import type {
  AuditCheckpoint,
  DashboardSessionRow,
  SecretRow,
  StoreRow,
  TokenRow,
} from "./storage-port.js";

/**
 * Every write the vault makes, as plain data. A command carries everything
 * its transaction needs, so a storage adapter can run it in this thread, on a
 * writer thread, or over a connection pool, unchanged. How each one runs
 * inside a transaction is in write-batch.ts.
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
  | SweepExpiredCommand
  | InsertTokenCommand
  | RevokeTokenCommand
  | TouchTokensCommand
  | RewrapStoreKeyCommand
  | AppendAuditCommand
  | PruneAuditCommand
  | StartDashboardSessionCommand
  | EndDashboardSessionCommand;

/** Writes one entry, removing it under previous key ids; registers the secret if allowed. */
export interface SetValueCommand {
  readonly kind: "setValue";
  readonly storeId: string;
  readonly storeUid: Buffer;
  readonly key: ValidKeyRef;
  readonly previous: readonly ValidKeyRef[];
  /** The client's envelope; sealed again at rest inside the transaction. */
  readonly sealed: Buffer;
  /** Check-and-set: the version the entry must be at (0: must not exist). */
  readonly expected: number | undefined;
  /** When the entry expires; null: never. */
  readonly expiresAt: number | null;
  /** The call's audit record: written in the same transaction if the command succeeds. */
  readonly audit?: AuditRecord | undefined;
}

/** Deletes one entry under every given key id. */
export interface DeleteValueCommand {
  readonly kind: "deleteValue";
  readonly storeId: string;
  readonly storeUid: Buffer;
  readonly refs: readonly ValidKeyRef[];
  readonly expected: number | undefined;
  /** The call's audit record: written in the same transaction if the command succeeds. */
  readonly audit?: AuditRecord | undefined;
}

/** Registers a secret, guarded by a known one. */
export interface RegisterSecretCommand {
  readonly kind: "registerSecret";
  readonly storeId: string;
  readonly storeUid: Buffer;
  readonly fingerprint: Buffer;
  readonly known: Buffer | undefined;
  /** The call's audit record: written in the same transaction if the command succeeds. */
  readonly audit?: AuditRecord | undefined;
}

/** Retires a secret no entry is sealed under. */
export interface RetireSecretCommand {
  readonly kind: "retireSecret";
  readonly storeId: string;
  readonly storeUid: Buffer;
  readonly fingerprint: Buffer;
  /** The call's audit record: written in the same transaction if the command succeeds. */
  readonly audit?: AuditRecord | undefined;
}

/** Inserts a new store (its data key already wrapped). */
export interface CreateStoreCommand {
  readonly kind: "createStore";
  readonly row: StoreRow;
  /** The call's audit record: written in the same transaction if the command succeeds. */
  readonly audit?: AuditRecord | undefined;
}

/** First step of deleting a store: destroys its wrapped key and hides it. */
export interface DestroyStoreKeyCommand {
  readonly kind: "destroyStoreKey";
  readonly storeId: string;
  /** The call's audit record: written in the same transaction if the command succeeds. */
  readonly audit?: AuditRecord | undefined;
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

/** Deletes up to `limit` entries that expired by `now`, keeping counts right. */
export interface SweepExpiredCommand {
  readonly kind: "sweepExpired";
  readonly now: number;
  readonly limit: number;
}

/** Inserts a token; with onlyIfNone, only into a database without tokens (the first admin token). */
export interface InsertTokenCommand {
  readonly kind: "insertToken";
  readonly row: TokenRow;
  readonly onlyIfNone: boolean;
  /** The call's audit record: written in the same transaction if the command succeeds. */
  readonly audit?: AuditRecord | undefined;
}

/** Revokes a token. */
export interface RevokeTokenCommand {
  readonly kind: "revokeToken";
  readonly tokenId: string;
  /** The call's audit record: written in the same transaction if the command succeeds. */
  readonly audit?: AuditRecord | undefined;
}

/** Records that tokens were used. */
export interface TouchTokensCommand {
  readonly kind: "touchTokens";
  readonly ids: readonly string[];
  readonly at: number;
}

/** Re-wraps one store's data key under another master key (master-key rotation). */
export interface RewrapStoreKeyCommand {
  readonly kind: "rewrapStoreKey";
  readonly storeUid: Buffer;
  readonly fromMasterKeyId: Buffer;
  readonly wrappedKey: Buffer;
  readonly masterKeyId: Buffer;
}

/** Appends audit records (reads' records, refusals) in the next transaction (group commit). */
export interface AppendAuditCommand {
  readonly kind: "appendAudit";
  readonly records: readonly AuditRecord[];
}

/** Prunes a chain's oldest records (retention), leaving a checkpoint verification starts from. */
export interface PruneAuditCommand {
  readonly kind: "pruneAudit";
  readonly checkpoint: AuditCheckpoint;
}

/** Opens a dashboard session (sign-in); sessions that have expired are deleted with it. */
export interface StartDashboardSessionCommand {
  readonly kind: "startDashboardSession";
  readonly row: DashboardSessionRow;
  /** The sign-in's audit record: written in the same transaction. */
  readonly audit?: AuditRecord | undefined;
}

/** Ends a dashboard session (sign-out, or its token no longer works). */
export interface EndDashboardSessionCommand {
  readonly kind: "endDashboardSession";
  readonly idHash: Buffer;
  /** The sign-out's audit record: written in the same transaction. */
  readonly audit?: AuditRecord | undefined;
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
  sweepExpired: {
    readonly swept: number;
    readonly removed: readonly { storeUid: Buffer; keyId: Buffer }[];
  };
  insertToken: boolean;
  revokeToken: TokenRow;
  touchTokens: undefined;
  rewrapStoreKey: boolean;
  appendAudit: undefined;
  pruneAudit: number;
  startDashboardSession: undefined;
  endDashboardSession: boolean;
}

/** The result type of a command. */
export type WriteResultOf<C extends WriteCommand> = WriteResults[C["kind"]];

/**
 * Commands that run alone in their transaction: they take stores or check
 * the database in ways that a batch of entry writes must not interleave with.
 * The others share transactions (group commit).
 */
export const SOLO_COMMANDS: ReadonlySet<WriteCommand["kind"]> = new Set([
  "retireSecret",
  "createStore",
  "destroyStoreKey",
  "purgeEntries",
  "deleteStoreRows",
  "sweepExpired",
  "insertToken",
  "revokeToken",
  "rewrapStoreKey",
  "pruneAudit",
  "startDashboardSession",
  "endDashboardSession",
]);
