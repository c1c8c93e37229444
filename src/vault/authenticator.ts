import {
  bearerToken,
  bootstrapTokenId,
  freshTokenRow,
  hashTokenSecret,
  parseAccessToken,
  sameHash,
} from "./access-token.js";
import { type Caller, callerOf } from "./caller.js";
import type { Storage, StorageReads, TokenRow } from "./storage-port.js";
import { VaultError } from "./vault-error.js";

/** Options for {@link Authenticator}. */
export interface AuthenticatorOptions {
  /**
   * An admin token given by the operator (HEXCLAVE_ADMIN_TOKEN) rather than
   * stored; compared by hash in constant time.
   */
  readonly bootstrapAdminToken?: string | undefined;
  /**
   * How often the token table is re-read in the background. Tokens created or
   * revoked through this server apply at once; this bounds how late a change
   * made through another server on a shared database is seen. Default 250 ms.
   */
  readonly refreshMs?: number;
  /**
   * A call never trusts a token table older than this: if background
   * refreshes fell behind, it waits for a fresh one. Default 1,000 ms — the
   * revocation bound the docs state.
   */
  readonly maxStaleMs?: number;
  /** `last_used_at` is written at most this often per token. Default 60 s. */
  readonly touchIntervalMs?: number;
}

interface KnownToken {
  readonly row: TokenRow;
  readonly caller: Caller;
  touchedAt: number;
}

interface TokenTable {
  readonly byId: ReadonlyMap<string, KnownToken>;
  readonly loadedAt: number;
}

/**
 * Turns an `authorization` header into a {@link Caller}, or the reason it
 * cannot: missing, malformed, unknown, wrong secret, revoked, or expired.
 *
 * The whole token table (ids, hashes, grants — a few hundred rows) is kept in
 * memory and re-read in the background, so no call waits on the database and
 * an unknown id costs exactly what a known id with a wrong secret costs: one
 * table lookup, the same two SHA-256 digests and one constant-time compare.
 * Neither the timing nor the database load tells an attacker which ids exist.
 *
 * HEXCLAVE_ADMIN_TOKEN is not stored; it goes by an id derived from it
 * (bootstrapTokenId). Revoking that id stores a revoked row under it
 * (AdminPlane.revokeToken), and from then on the row decides: the token is
 * refused on every server, after every restart, for as long as the database
 * holds the row — setting the same value again does not bring it back.
 *
 * @example
 * const caller = await authenticator.authenticate("Bearer hxk_…");
 */
export class Authenticator {
  readonly #reads: StorageReads;
  readonly #storage: Pick<Storage, "write">;
  readonly #bootstrapHash: Buffer | undefined;
  readonly #bootstrap: KnownToken | undefined;
  readonly #maxStaleMs: number;
  readonly #touchIntervalMs: number;
  readonly #timer: NodeJS.Timeout;
  #table: TokenTable | undefined;
  #loading: Promise<TokenTable> | undefined;
  /**
   * Tokens already verified, by the exact text presented and the table they
   * were verified against: the hot path then costs one map lookup instead of
   * two digests. A miss falls through to the constant-time check. Bounded.
   */
  readonly #verified = new Map<string, { table: TokenTable; token: KnownToken }>();

  constructor(
    reads: StorageReads,
    storage: Pick<Storage, "write">,
    options: AuthenticatorOptions = {},
  ) {
    this.#reads = reads;
    this.#storage = storage;
    const bootstrap = options.bootstrapAdminToken;
    this.#bootstrapHash = bootstrap === undefined ? undefined : hashTokenSecret(bootstrap);
    this.#bootstrap = bootstrap === undefined ? undefined : bootstrapToken(bootstrap);
    this.#maxStaleMs = options.maxStaleMs ?? 1_000;
    this.#touchIntervalMs = options.touchIntervalMs ?? 60_000;
    this.#timer = setInterval(() => {
      this.#reload().catch(() => {
        // A failed background read is retried on the next tick; calls wait for a fresh table.
      });
    }, options.refreshMs ?? 250);
    this.#timer.unref();
  }

  /**
   * Authenticates one call.
   *
   * @throws VaultError TOKEN_MISSING, TOKEN_INVALID, TOKEN_REVOKED or TOKEN_EXPIRED.
   */
  async authenticate(authorization: string | undefined): Promise<Caller> {
    if (authorization === undefined || authorization === "") {
      throw new VaultError(
        "TOKEN_MISSING",
        'no access token: send the metadata "authorization: Bearer <token>"',
      );
    }
    const presented = bearerToken(authorization);
    if (presented === undefined) {
      throw new VaultError(
        "TOKEN_INVALID",
        'the "authorization" metadata must be "Bearer <token>"',
      );
    }
    const table = await this.#fresh();
    const verified = this.#verified.get(presented);
    const token =
      verified !== undefined && verified.table === table
        ? verified.token
        : this.#verify(presented, table);
    if (token.row.revokedAt !== null) {
      throw new VaultError(
        "TOKEN_REVOKED",
        "this access token was revoked: ask an admin for a new one",
      );
    }
    if (token.row.expiresAt !== null && token.row.expiresAt <= Date.now()) {
      throw new VaultError(
        "TOKEN_EXPIRED",
        `this access token expired at ${new Date(token.row.expiresAt).toISOString()}: ask an admin for a new one`,
      );
    }
    this.#touch(token);
    return token.caller;
  }

  /**
   * HEXCLAVE_ADMIN_TOKEN's public record, while no row stands for it (none
   * does until it is revoked: see {@link Authenticator}); undefined without one.
   */
  get bootstrapToken(): TokenRow | undefined {
    return this.#bootstrap?.row;
  }

  /**
   * Forgets what is known about tokens, e.g. after one was revoked here: the
   * next call reads the table again.
   */
  forget(): void {
    this.#table = undefined;
    this.#verified.clear();
  }

  /** Stops the background refresh. */
  close(): void {
    clearInterval(this.#timer);
  }

  #verify(presented: string, table: TokenTable): KnownToken {
    // Both digests always run, so every path below costs the same.
    const presentedHash = hashTokenSecret(presented);
    const parsed = parseAccessToken(presented);
    const secretHash = hashTokenSecret(parsed?.secret ?? presented);
    if (
      this.#bootstrap !== undefined &&
      this.#bootstrapHash !== undefined &&
      sameHash(presentedHash, this.#bootstrapHash)
    ) {
      // A row under its id exists only once it was revoked: then that row decides.
      const revoked = table.byId.get(this.#bootstrap.row.id);
      return this.#remember(presented, table, revoked ?? this.#bootstrap);
    }
    const known = parsed === undefined ? undefined : table.byId.get(parsed.id);
    const matches = sameHash(secretHash, known?.row.secretHash ?? NO_TOKEN_HASH);
    if (known === undefined || !matches) throw invalidToken();
    return this.#remember(presented, table, known);
  }

  #remember(presented: string, table: TokenTable, token: KnownToken): KnownToken {
    if (this.#verified.size >= VERIFIED_CACHE_SIZE) {
      const oldest = this.#verified.keys().next().value;
      if (oldest !== undefined) this.#verified.delete(oldest);
    }
    this.#verified.set(presented, { table, token });
    return token;
  }

  /** The token table, re-read first if the background refresh fell behind. */
  #fresh(): Promise<TokenTable> | TokenTable {
    const table = this.#table;
    if (table !== undefined && Date.now() - table.loadedAt < this.#maxStaleMs) return table;
    return this.#reload();
  }

  #reload(): Promise<TokenTable> {
    this.#loading ??= this.#load().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  async #load(): Promise<TokenTable> {
    const loadedAt = Date.now();
    const rows = await this.#reads.listTokens(true);
    const previous = this.#table?.byId;
    const byId = new Map<string, KnownToken>();
    for (const row of rows) {
      const touchedAt = Math.max(previous?.get(row.id)?.touchedAt ?? 0, row.lastUsedAt ?? 0);
      byId.set(row.id, { row, caller: callerOf(row.id, row.admin, row.grants), touchedAt });
    }
    const table: TokenTable = { byId, loadedAt };
    this.#table = table;
    return table;
  }

  // Recording use is bookkeeping: it must never slow or fail the call.
  #touch(token: KnownToken): void {
    if (token === this.#bootstrap) return;
    const now = Date.now();
    if (now - token.touchedAt < this.#touchIntervalMs) return;
    token.touchedAt = now;
    this.#storage.write({ kind: "touchTokens", ids: [token.row.id], at: now }).catch(() => {
      token.touchedAt = 0;
    });
  }
}

/** Verified tokens remembered at most; the oldest is forgotten first. */
const VERIFIED_CACHE_SIZE = 10_000;

/** Compared against when the presented id is unknown, so that path does the same work. */
const NO_TOKEN_HASH = Buffer.alloc(32);

/**
 * The operator-given admin token (HEXCLAVE_ADMIN_TOKEN): not stored, never
 * expires, never touched. It goes by an id derived from it, and is listed as
 * created when this process started.
 */
function bootstrapToken(token: string): KnownToken {
  const id = bootstrapTokenId(token);
  return {
    row: freshTokenRow({
      id,
      name: BOOTSTRAP_TOKEN_NAME,
      // Matches no presented secret: the bootstrap path compares the whole token instead.
      secretHash: NO_TOKEN_HASH,
      admin: true,
      grants: [],
    }),
    caller: callerOf(id, true, []),
    touchedAt: 0,
  };
}

/** The name HEXCLAVE_ADMIN_TOKEN is listed (and, once revoked, stored) under. */
export const BOOTSTRAP_TOKEN_NAME = "HEXCLAVE_ADMIN_TOKEN";

function invalidToken(): VaultError {
  return new VaultError(
    "TOKEN_INVALID",
    "the access token is not valid: check HEXCLAVE_TOKEN (tokens look like hxk_…)",
  );
}
