import type { EntryRow, GrantRow, SecretRow, StoreRow, TokenRow } from "./storage-port.js";

/** A store as callers see it: public parameters and counts, never its key. */
export interface StoreView {
  readonly id: string;
  readonly description: string;
  readonly salt: Buffer;
  readonly maxValueBytes: number;
  readonly secrets: readonly SecretRow[];
  readonly entryCount: number;
  readonly totalValueBytes: number;
  readonly createdAt: number;
}

/** An entry as callers see it: the client's envelope, opened from the at-rest layer. */
export interface EntryView {
  readonly keyId: Buffer;
  readonly fingerprint: Buffer;
  readonly sealedValue: Buffer;
  readonly version: number;
  readonly updatedAt: number;
  /** When the entry expires; null: never. */
  readonly expiresAt: number | null;
}

/** A token's public record: never its hash. */
export interface TokenView {
  readonly id: string;
  readonly name: string;
  readonly admin: boolean;
  readonly grants: readonly GrantRow[];
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
  readonly revokedAt: number | null;
  readonly expiresAt: number | null;
}

/** Builds a {@link StoreView}. */
export function storeView(row: StoreRow, secrets: readonly SecretRow[]): StoreView {
  return {
    id: row.id,
    description: row.description,
    salt: row.salt,
    maxValueBytes: row.maxValueBytes,
    secrets,
    entryCount: row.entryCount,
    totalValueBytes: row.totalValueBytes,
    createdAt: row.createdAt,
  };
}

/** Builds an {@link EntryView} from a row and its opened envelope. */
export function entryView(row: EntryRow, sealedValue: Buffer): EntryView {
  return {
    keyId: row.keyId,
    fingerprint: row.fingerprint,
    sealedValue,
    version: row.version,
    updatedAt: row.updatedAt,
    expiresAt: row.expiresAt,
  };
}

/** Builds a {@link TokenView}. */
export function tokenView(row: TokenRow): TokenView {
  return {
    id: row.id,
    name: row.name,
    admin: row.admin,
    grants: row.grants,
    createdAt: row.createdAt,
    lastUsedAt: row.lastUsedAt,
    revokedAt: row.revokedAt,
    expiresAt: row.expiresAt,
  };
}
