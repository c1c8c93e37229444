import type { AuditRecord } from "../../vault/audit-record.js";
import { type Caller, requireAdmin } from "../../vault/caller.js";
import type { Storage } from "../../vault/storage-port.js";
import { isVaultError, VaultError, type VaultErrorReason } from "../../vault/vault-error.js";
import { tokenIdOf } from "../token-id.js";
import {
  isSessionId,
  newSessionId,
  openSessionToken,
  type SessionKeys,
  sealSessionToken,
  sessionKeys,
} from "./session-secret.js";

const NONE: Resumed = Object.freeze({ state: "none" });

/** A session lasts this long from sign-in, however it is used. */
export const SESSION_LIFETIME_MS = 60 * 60_000;

/** A signed-in session, as one request sees it. */
export interface Session {
  /** The id the browser holds (the cookie's value). */
  readonly id: string;
  readonly keys: SessionKeys;
  /** The admin token's caller, authenticated again for this request. */
  readonly caller: Caller;
  readonly expiresAt: number;
}

/** What a cookie leads to: no session, a session, or a session whose token is refused now. */
export type Resumed =
  | { readonly state: "none" }
  | { readonly state: "open"; readonly session: Session }
  | {
      readonly state: "refused";
      /** The refusal a gRPC call with the token would get. */
      readonly error: VaultError;
      /** The token's public id, if it has one. */
      readonly tokenId: string | null;
    };

/** Refusals of a token (as opposed to the database failing to answer). */
const TOKEN_REFUSALS: ReadonlySet<VaultErrorReason> = new Set([
  "TOKEN_MISSING",
  "TOKEN_INVALID",
  "TOKEN_REVOKED",
  "TOKEN_EXPIRED",
  "PERMISSION_DENIED",
]);

/** What the sessions need from the server. */
export interface SessionDeps {
  /** The vault's storage; undefined while the server starts. */
  readonly storage: () => Storage | undefined;
  /** The vault's authenticator: an `authorization` value → a Caller, or its VaultError. */
  readonly authenticate: (authorization: string) => Promise<Caller>;
}

/**
 * Dashboard sessions, kept in the vault's database so every server process
 * on it — `--workers`, replicas behind a load balancer — sees the same ones:
 * a sign-in on one works on all, and a sign-out ends it on all at once (each
 * request reads its session row; there is no cache to go stale).
 *
 * The admin token a session was opened with is sealed in its row under a
 * key derived from the session id (session-secret.ts) and authenticated again
 * on every request by the vault's own authenticator: a token revoked or
 * expired since sign-in ends its sessions with the refusal a gRPC call would
 * get (TOKEN_REVOKED, TOKEN_EXPIRED), and nothing here re-implements a rule.
 *
 * @example
 * const caller = await sessions.check(token);
 * const session = await sessions.open(token, caller, { audit });
 */
export class DashboardSessions {
  readonly #deps: SessionDeps;

  constructor(deps: SessionDeps) {
    this.#deps = deps;
  }

  /**
   * Checks a token as a gRPC admin call would: a working admin token.
   *
   * @throws VaultError TOKEN_MISSING, TOKEN_INVALID, TOKEN_REVOKED, TOKEN_EXPIRED, PERMISSION_DENIED.
   */
  async check(token: string): Promise<Caller> {
    const caller = await this.#deps.authenticate(token === "" ? "" : `Bearer ${token}`);
    requireAdmin(caller);
    return caller;
  }

  /**
   * Opens a session for a token {@link check} accepted; the sign-in's audit
   * record is committed with it.
   *
   * @throws VaultError from the storage (unavailable, disk full, …).
   */
  async open(
    token: string,
    caller: Caller,
    audited: { readonly audit?: AuditRecord | undefined },
  ): Promise<Session> {
    const id = newSessionId();
    const keys = sessionKeys(id);
    const now = Date.now();
    const expiresAt = now + SESSION_LIFETIME_MS;
    await this.#storage().write({
      kind: "startDashboardSession",
      row: {
        idHash: keys.idHash,
        sealedToken: sealSessionToken(keys, token),
        createdAt: now,
        expiresAt,
      },
      audit: audited.audit,
    });
    return { id, keys, caller, expiresAt };
  }

  /**
   * The session a cookie names, its token authenticated again now: none if
   * there is no such session (never was, signed out, expired, or a row that
   * does not open); refused, and ended, if its token no longer works.
   *
   * @throws VaultError STORAGE_UNAVAILABLE and the like if the database cannot be read.
   */
  async resume(id: string | undefined): Promise<Resumed> {
    if (id === undefined || !isSessionId(id)) return NONE;
    const keys = sessionKeys(id);
    const row = await this.#storage().reads.findDashboardSession(keys.idHash);
    if (row === undefined || row.expiresAt <= Date.now()) return NONE;
    const token = openSessionToken(keys, row.sealedToken);
    if (token === undefined) return NONE;
    try {
      const caller = await this.check(token);
      return { state: "open", session: { id, keys, caller, expiresAt: row.expiresAt } };
    } catch (error) {
      if (!isVaultError(error) || !TOKEN_REFUSALS.has(error.reason)) throw error;
      await this.end(id, {}).catch(() => {});
      return { state: "refused", error, tokenId: tokenIdOf(`Bearer ${token}`) ?? null };
    }
  }

  /**
   * Ends a session, on every server at once; the sign-out's audit record is
   * committed with it.
   *
   * @returns whether the session existed.
   */
  async end(id: string, audited: { readonly audit?: AuditRecord | undefined }): Promise<boolean> {
    if (!isSessionId(id)) return false;
    return this.#storage().write({
      kind: "endDashboardSession",
      idHash: sessionKeys(id).idHash,
      audit: audited.audit,
    });
  }

  #storage(): Storage {
    const storage = this.#deps.storage();
    if (storage === undefined) {
      throw new VaultError(
        "STORAGE_UNAVAILABLE",
        "the server is starting and cannot reach its database yet: retry shortly",
      );
    }
    return storage;
  }
}
