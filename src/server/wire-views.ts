import type { Entry, Store, Token } from "../../gen/hexclave/v1/types.js";
import type { EntryView, StoreView, TokenView } from "../vault/views.js";

/** Vault views as protobuf messages. */

/** A store as sent on the wire. */
export function storeToWire(view: StoreView): Store {
  return {
    id: view.id,
    description: view.description,
    salt: view.salt,
    maxValueBytes: view.maxValueBytes,
    secrets: view.secrets.map((s) => ({
      fingerprint: s.fingerprint,
      entryCount: BigInt(s.entryCount),
      registerTime: new Date(s.registeredAt),
    })),
    entryCount: BigInt(view.entryCount),
    totalValueBytes: BigInt(view.totalValueBytes),
    createTime: new Date(view.createdAt),
  };
}

/** An entry as sent on the wire. */
export function entryToWire(view: EntryView): Entry {
  return {
    keyId: view.keyId,
    secretFingerprint: view.fingerprint,
    sealedValue: view.sealedValue,
    version: BigInt(view.version),
    updateTime: new Date(view.updatedAt),
    ...(view.expiresAt === null ? {} : { expireTime: new Date(view.expiresAt) }),
  };
}

/** A token's public record as sent on the wire. */
export function tokenToWire(view: TokenView): Token {
  return {
    id: view.id,
    name: view.name,
    admin: view.admin,
    grants: view.grants.map((g) => ({ storeId: g.storeId, read: g.read, write: g.write })),
    createTime: new Date(view.createdAt),
    lastUseTime: view.lastUsedAt === null ? undefined : new Date(view.lastUsedAt),
    revokeTime: view.revokedAt === null ? undefined : new Date(view.revokedAt),
    ...(view.expiresAt === null ? {} : { expireTime: new Date(view.expiresAt) }),
  };
}
