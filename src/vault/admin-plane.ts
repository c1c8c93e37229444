import { randomBytes } from "node:crypto";
import { generateDataKey, masterKeyId, wrapDataKey } from "../crypto/at-rest.js";
import { freshTokenRow, isTokenId, newAccessToken } from "./access-token.js";
import { assertStoreId, assertText, assertUint64InRange } from "./assertions.js";
import type { Audited } from "./audit-record.js";
import type { Authenticator } from "./authenticator.js";
import { type Caller, requireAdmin } from "./caller.js";
import { describe, liveStoreView } from "./describe-store.js";
import type { EntryCache } from "./entry-cache.js";
import { type DurationInput, expiryOf, TOKEN_EXPIRY } from "./expiry.js";
import { limits } from "./limits.js";
import type { GrantRow, Storage, StorageReads, StoreRow, TokenRow } from "./storage-port.js";
import type { StoreDirectory } from "./store-directory.js";
import { VaultError } from "./vault-error.js";
import { type StoreView, storeView, type TokenView, tokenView } from "./views.js";

/** Arguments of {@link AdminPlane.createToken}. */
export interface CreateTokenInput {
  readonly name: string;
  readonly admin: boolean;
  readonly grants: readonly GrantRow[];
  /** The token stops working this long after it is created. */
  readonly ttl?: DurationInput | undefined;
}

/** What the admin plane needs. */
export interface AdminPlaneDeps {
  readonly reads: StorageReads;
  readonly stores: StoreDirectory;
  readonly cache: EntryCache;
  readonly storage: Pick<Storage, "write" | "scrub">;
  readonly authenticator: Authenticator;
  readonly masterKey: Buffer;
  /** Purges a deleted store's rows in the background. */
  readonly purge: (storeUid: Buffer) => void;
}

/**
 * The control plane's logic: stores and access tokens. Every method needs an
 * admin caller.
 */
export class AdminPlane {
  readonly #deps: AdminPlaneDeps;

  constructor(deps: AdminPlaneDeps) {
    this.#deps = deps;
  }

  /**
   * Creates an empty store with a fresh salt and data key.
   *
   * @throws VaultError PERMISSION_DENIED, INVALID_STORE_ID, INVALID_ARGUMENT, STORE_ALREADY_EXISTS.
   */
  async createStore(
    caller: Caller,
    input: {
      readonly storeId: string;
      readonly description: string;
      readonly maxValueBytes?: bigint | undefined;
    },
    audited: Audited = {},
  ): Promise<StoreView> {
    requireAdmin(caller);
    const id = assertStoreId(input.storeId);
    const description = assertText(input.description, "description", {
      min: 0,
      max: limits.maxDescriptionChars,
    });
    const maxValueBytes =
      input.maxValueBytes === undefined
        ? limits.defaultMaxValueBytes
        : assertUint64InRange(input.maxValueBytes, "max_value_bytes", {
            min: limits.minValueBytesLimit,
            max: limits.maxValueBytesCeiling,
          });
    const dataKey = generateDataKey();
    const row: StoreRow = {
      uid: randomBytes(16),
      id,
      description,
      salt: randomBytes(limits.storeSaltBytes),
      wrappedKey: wrapDataKey(this.#deps.masterKey, id, dataKey),
      masterKeyId: masterKeyId(this.#deps.masterKey),
      maxValueBytes,
      entryCount: 0,
      totalValueBytes: 0,
      createdAt: Date.now(),
      lastVersion: 0,
    };
    dataKey.fill(0);
    await this.#deps.storage.write({ kind: "createStore", row, audit: audited.audit });
    return storeView(row, []);
  }

  /**
   * One store with its counts.
   *
   * @throws VaultError PERMISSION_DENIED, INVALID_STORE_ID, STORE_NOT_FOUND.
   */
  async getStore(caller: Caller, storeId: string): Promise<StoreView> {
    requireAdmin(caller);
    return describe(this.#deps.reads, assertStoreId(storeId));
  }

  /**
   * Every live store, ordered by id.
   *
   * @throws VaultError PERMISSION_DENIED.
   */
  async listStores(caller: Caller): Promise<StoreView[]> {
    requireAdmin(caller);
    const rows = await this.#deps.reads.listStores();
    return Promise.all(rows.map((row) => liveStoreView(this.#deps.reads, row)));
  }

  /**
   * Deletes a store: its data key is destroyed in the first committed step,
   * so its entries are unreadable from then on; rows are purged after.
   *
   * @returns how many entries the store held.
   * @throws VaultError PERMISSION_DENIED, INVALID_STORE_ID, STORE_NOT_FOUND.
   */
  async deleteStore(
    caller: Caller,
    storeId: string,
    audited: Audited = {},
  ): Promise<{ deletedEntryCount: number }> {
    requireAdmin(caller);
    const id = assertStoreId(storeId);
    const { storeUid, entryCount } = await this.#deps.storage.write({
      kind: "destroyStoreKey",
      storeId: id,
      audit: audited.audit,
    });
    this.#deps.stores.evict(id);
    this.#deps.cache.dropStore(storeUid);
    // Acknowledge only once old copies of the wrapped key are gone from the database files too.
    await this.#deps.storage.scrub();
    this.#deps.purge(storeUid);
    return { deletedEntryCount: entryCount };
  }

  /**
   * Creates a token; the returned `token` text is shown once and never stored.
   *
   * @throws VaultError PERMISSION_DENIED, INVALID_ARGUMENT, INVALID_STORE_ID.
   */
  async createToken(
    caller: Caller,
    input: CreateTokenInput,
    audited: Audited = {},
  ): Promise<{ view: TokenView; token: string }> {
    requireAdmin(caller);
    const name = assertText(input.name, "name", { min: 1, max: limits.maxTokenNameChars });
    const grants = assertGrants(input.admin, input.grants);
    const now = Date.now();
    const expiresAt = expiryOf({ ttl: input.ttl }, now, TOKEN_EXPIRY);
    const made = newAccessToken();
    const row = freshTokenRow({
      id: made.id,
      name,
      secretHash: made.secretHash,
      admin: input.admin,
      grants,
      createdAt: now,
      expiresAt,
    });
    await this.#deps.storage.write({
      kind: "insertToken",
      row,
      onlyIfNone: false,
      audit: audited.audit,
    });
    // Usable through this server at once; through others within the token table's refresh.
    this.#deps.authenticator.forget();
    return { view: tokenView(row), token: made.token };
  }

  /**
   * Every token's public record, oldest first.
   *
   * @throws VaultError PERMISSION_DENIED.
   */
  async listTokens(caller: Caller, includeRevoked: boolean): Promise<TokenView[]> {
    requireAdmin(caller);
    const rows = await this.#deps.reads.listTokens(true);
    // HEXCLAVE_ADMIN_TOKEN is listed too, so an admin can find its id to revoke it; once
    // revoked, its stored row stands for it.
    const bootstrap = this.#deps.authenticator.bootstrapToken;
    const listed =
      bootstrap === undefined || rows.some((r) => r.id === bootstrap.id)
        ? rows
        : [bootstrap, ...rows];
    return listed.filter((r) => includeRevoked || r.revokedAt === null).map(tokenView);
  }

  /**
   * Revokes a token; calls made with it fail from the moment this returns.
   * Revoking a revoked token changes nothing.
   *
   * @throws VaultError PERMISSION_DENIED, INVALID_ARGUMENT, TOKEN_NOT_FOUND.
   */
  async revokeToken(caller: Caller, tokenId: string, audited: Audited = {}): Promise<TokenView> {
    requireAdmin(caller);
    if (!isTokenId(tokenId)) {
      throw new VaultError(
        "INVALID_ARGUMENT",
        `"token_id" must be 16 hex characters (see "hexclave tokens list"), got ${JSON.stringify(tokenId.slice(0, 40))}`,
      );
    }
    const bootstrap = this.#deps.authenticator.bootstrapToken;
    const row =
      tokenId === bootstrap?.id
        ? await this.#revokeBootstrap(bootstrap, audited)
        : await this.#deps.storage.write({ kind: "revokeToken", tokenId, audit: audited.audit });
    this.#deps.authenticator.forget();
    return tokenView(row);
  }

  /**
   * HEXCLAVE_ADMIN_TOKEN has no row until it is revoked: store one, revoked,
   * which the authenticator then finds under its id on every server and after
   * every restart. Revoking it again (or from two servers at once) finds the row.
   */
  async #revokeBootstrap(bootstrap: TokenRow, audited: Audited): Promise<TokenRow> {
    const stored = async () =>
      (await this.#deps.reads.listTokens(true)).some((r) => r.id === bootstrap.id);
    const revoke = () =>
      this.#deps.storage.write({
        kind: "revokeToken",
        tokenId: bootstrap.id,
        audit: audited.audit,
      });
    if (await stored()) return revoke();
    const row = { ...bootstrap, createdAt: Date.now(), revokedAt: Date.now() };
    try {
      await this.#deps.storage.write({
        kind: "insertToken",
        row,
        onlyIfNone: false,
        audit: audited.audit,
      });
      return row;
    } catch (error) {
      // Another server stored it first: revoking the stored row changes nothing more.
      if (!(await stored())) throw error;
      return revoke();
    }
  }
}

function assertGrants(admin: boolean, grants: readonly GrantRow[]): GrantRow[] {
  if (admin && grants.length > 0) {
    throw new VaultError(
      "INVALID_ARGUMENT",
      "an admin token has every access already: give either admin or grants, not both",
    );
  }
  if (!admin && grants.length === 0) {
    throw new VaultError(
      "INVALID_ARGUMENT",
      "a token needs admin or at least one store grant (e.g. --store oauth-tokens:read)",
    );
  }
  if (grants.length > limits.maxGrantsPerToken) {
    throw new VaultError(
      "INVALID_ARGUMENT",
      `a token may carry at most ${limits.maxGrantsPerToken} grants, got ${grants.length}`,
    );
  }
  const seen = new Set<string>();
  return grants.map((g, i) => {
    const storeId = assertStoreId(g.storeId, `grants[${i}].store_id`);
    if (!g.read && !g.write) {
      throw new VaultError(
        "INVALID_ARGUMENT",
        `grants[${i}] for store "${storeId}" grants neither read nor write`,
      );
    }
    if (seen.has(storeId)) {
      throw new VaultError(
        "INVALID_ARGUMENT",
        `store "${storeId}" is granted twice: merge the grants`,
      );
    }
    seen.add(storeId);
    return { storeId, read: g.read, write: g.write };
  });
}
