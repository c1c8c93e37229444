import { hashTokenSecret, parseAccessToken, sameHash } from "./access-token.js";
import { type Caller, callerOf } from "./caller.js";
import type { RepositoryReads, TokenRow } from "./repository.js";
import { VaultError } from "./vault-error.js";
import type { WriteExecutor } from "./write-executor.js";

/** Options for {@link Authenticator}. */
export interface AuthenticatorOptions {
  /**
   * An admin token given by the operator (HEXCLAVE_ADMIN_TOKEN) rather than
   * stored; compared by hash in constant time.
   */
  readonly bootstrapAdminToken?: string | undefined;
  /**
   * How long a token record is trusted from memory. Revocations made through
   * this server apply at once; this bounds how late one made through another
   * replica of a shared database is seen. Default 5 s.
   */
  readonly cacheTtlMs?: number;
  /** `last_used_at` is written at most this often per token. Default 60 s. */
  readonly touchIntervalMs?: number;
}

interface CachedToken {
  row: TokenRow;
  caller: Caller;
  loadedAt: number;
  touchedAt: number;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * Turns an `authorization` header into a {@link Caller}, or the reason it
 * cannot: missing, malformed, unknown, wrong secret, or revoked.
 *
 * @example
 * const caller = await authenticator.authenticate("Bearer hxk_…");
 */
export class Authenticator {
  readonly #reads: RepositoryReads;
  readonly #writes: WriteExecutor;
  readonly #bootstrapHash: Buffer | undefined;
  readonly #ttlMs: number;
  readonly #touchIntervalMs: number;
  readonly #cache = new Map<string, CachedToken>();
  /**
   * Tokens already verified (by hash, in constant time), by the exact text
   * presented: the hot path then costs one map lookup instead of two SHA-256
   * digests. A string-keyed map lookup reveals nothing an attacker can use: a
   * miss falls through to the constant-time check. Bounded; entries expire
   * with the token record they share.
   */
  readonly #verified = new Map<string, CachedToken>();

  constructor(reads: RepositoryReads, writes: WriteExecutor, options: AuthenticatorOptions = {}) {
    this.#reads = reads;
    this.#writes = writes;
    this.#bootstrapHash =
      options.bootstrapAdminToken === undefined
        ? undefined
        : hashTokenSecret(options.bootstrapAdminToken);
    this.#ttlMs = options.cacheTtlMs ?? 5_000;
    this.#touchIntervalMs = options.touchIntervalMs ?? 60_000;
  }

  /**
   * Authenticates one call.
   *
   * @throws VaultError TOKEN_MISSING, TOKEN_INVALID or TOKEN_REVOKED.
   */
  async authenticate(authorization: string | undefined): Promise<Caller> {
    if (authorization === undefined || authorization === "") {
      throw new VaultError(
        "TOKEN_MISSING",
        'no access token: send the metadata "authorization: Bearer <token>"',
      );
    }
    const presented = BEARER.exec(authorization)?.[1];
    if (presented === undefined) {
      throw new VaultError(
        "TOKEN_INVALID",
        'the "authorization" metadata must be "Bearer <token>"',
      );
    }
    const known = this.#verified.get(presented);
    const cached =
      known !== undefined && Date.now() - known.loadedAt < this.#ttlMs
        ? known
        : await this.#verify(presented);
    if (cached.row.revokedAt !== null) {
      throw new VaultError(
        "TOKEN_REVOKED",
        "this access token was revoked: ask an admin for a new one",
      );
    }
    this.#touch(cached);
    return cached.caller;
  }

  /** Forgets a token's cached record, e.g. after it was revoked. */
  forget(tokenId: string): void {
    this.#cache.delete(tokenId);
    for (const [presented, entry] of this.#verified) {
      if (entry.row.id === tokenId) this.#verified.delete(presented);
    }
  }

  async #verify(presented: string): Promise<CachedToken> {
    if (
      this.#bootstrapHash !== undefined &&
      sameHash(hashTokenSecret(presented), this.#bootstrapHash)
    ) {
      return this.#remember(presented, BOOTSTRAP_ENTRY);
    }
    const parsed = parseAccessToken(presented);
    if (parsed === undefined) throw invalidToken();
    const cached = await this.#load(parsed.id);
    if (cached === undefined || !sameHash(hashTokenSecret(parsed.secret), cached.row.secretHash)) {
      throw invalidToken();
    }
    return this.#remember(presented, cached);
  }

  #remember(presented: string, entry: CachedToken): CachedToken {
    if (this.#verified.size >= VERIFIED_CACHE_SIZE) {
      const oldest = this.#verified.keys().next().value;
      if (oldest !== undefined) this.#verified.delete(oldest);
    }
    this.#verified.set(presented, entry);
    return entry;
  }

  async #load(id: string): Promise<CachedToken | undefined> {
    const now = Date.now();
    const hit = this.#cache.get(id);
    if (hit !== undefined && now - hit.loadedAt < this.#ttlMs) return hit;
    const row = await this.#reads.findToken(id);
    if (row === undefined) {
      this.#cache.delete(id);
      return undefined;
    }
    const entry: CachedToken = {
      row,
      caller: callerOf(row.id, row.admin, row.grants),
      loadedAt: now,
      touchedAt: Math.max(hit?.touchedAt ?? 0, row.lastUsedAt ?? 0),
    };
    this.#cache.set(id, entry);
    return entry;
  }

  // Recording use is bookkeeping: it must never slow or fail the call.
  #touch(entry: CachedToken): void {
    if (entry === BOOTSTRAP_ENTRY) return;
    const now = Date.now();
    if (now - entry.touchedAt < this.#touchIntervalMs) return;
    entry.touchedAt = now;
    this.#writes.run({ kind: "touchTokens", ids: [entry.row.id], at: now }).catch(() => {
      entry.touchedAt = 0;
    });
  }
}

/** Verified tokens remembered at most; the oldest is forgotten first. */
const VERIFIED_CACHE_SIZE = 10_000;

/** The operator-given admin token: not stored, never expires, never touched. */
const BOOTSTRAP_ENTRY: CachedToken = {
  row: {
    id: "bootstrap",
    name: "HEXCLAVE_ADMIN_TOKEN",
    secretHash: Buffer.alloc(0),
    admin: true,
    grants: [],
    createdAt: 0,
    lastUsedAt: null,
    revokedAt: null,
  },
  caller: callerOf("bootstrap", true, []),
  loadedAt: Number.POSITIVE_INFINITY,
  touchedAt: 0,
};

function invalidToken(): VaultError {
  return new VaultError(
    "TOKEN_INVALID",
    "the access token is not valid: check HEXCLAVE_TOKEN (tokens look like hxk_…)",
  );
}
