import type { Audited, AuditRecord } from "../../vault/audit-record.js";
import { isVaultError, VaultError } from "../../vault/vault-error.js";
import { outcomeOf } from "../error-status.js";
import type { Auditor } from "../interceptors/audit-calls.js";

/** The admin-plane methods the dashboard performs, recorded under their gRPC paths. */
export const ADMIN_METHODS = Object.freeze({
  createStore: "/hexclave.v1.AdminService/CreateStore",
  listStores: "/hexclave.v1.AdminService/ListStores",
  deleteStore: "/hexclave.v1.AdminService/DeleteStore",
  createToken: "/hexclave.v1.AdminService/CreateToken",
  listTokens: "/hexclave.v1.AdminService/ListTokens",
  revokeToken: "/hexclave.v1.AdminService/RevokeToken",
});

/** What only the dashboard does, recorded under these names. */
export const DASHBOARD_METHODS = Object.freeze({
  signIn: "/hexclave.dashboard.Dashboard/SignIn",
  signOut: "/hexclave.dashboard.Dashboard/SignOut",
  listAudit: "/hexclave.dashboard.Dashboard/ListAudit",
  health: "/hexclave.dashboard.Dashboard/GetHealth",
});

/** Who asks, from where: what every record of one request shares. */
export interface RequestFacts {
  readonly requestId: string;
  /** "dashboard:" and the browser's address, so records show the way in. */
  readonly peer: string;
  /** The token's public id, once known. */
  readonly tokenId: string | null;
}

/**
 * The audit log for dashboard requests, with the gRPC interceptor's rules
 * (src/server/interceptors/audit-calls.ts) and the same sink:
 *
 * - a write hands its record to the write, which commits it in its own
 *   transaction: the record exists if and only if the write committed;
 * - a read's record is appended before the page is sent; if it cannot be,
 *   the page is not sent (AUDIT_UNAVAILABLE);
 * - a refusal is appended, then shown.
 *
 * With the audit log off (`--audit off`) every action just runs.
 *
 * @example
 * const stores = await audit.read(facts, ADMIN_METHODS.listStores, null, () => admin.listStores(caller));
 */
export class DashboardAudit {
  readonly #auditor: () => Auditor | undefined;

  constructor(auditor: () => Auditor | undefined) {
    this.#auditor = auditor;
  }

  /**
   * Runs a read and records it before its result is used.
   *
   * @throws whatever `run` throws (recorded), or VaultError AUDIT_UNAVAILABLE.
   */
  async read<T>(
    facts: RequestFacts,
    method: string,
    storeId: string | null,
    run: () => Promise<T>,
  ): Promise<T> {
    const sink = this.#auditor();
    if (sink === undefined) return run();
    let result: T;
    try {
      result = await run();
    } catch (error) {
      await this.refused(facts, method, storeId, error);
      throw error;
    }
    try {
      await sink.append(record(facts, method, storeId, undefined));
    } catch (cause) {
      throw auditUnavailable(cause);
    }
    return result;
  }

  /**
   * Runs a write with its record, which the write commits with itself.
   *
   * @throws whatever `run` throws (its refusal recorded).
   */
  async write<T>(
    facts: RequestFacts,
    method: string,
    storeId: string | null,
    run: (audited: Audited) => Promise<T>,
  ): Promise<T> {
    const sink = this.#auditor();
    if (sink === undefined) return run({});
    const draft = record(facts, method, storeId, undefined);
    try {
      const result = await run({ audit: draft });
      sink.written(draft);
      return result;
    } catch (error) {
      await this.refused(facts, method, storeId, error);
      throw error;
    }
  }

  /** Records a refusal, best effort: the request fails either way and says why. */
  async refused(
    facts: RequestFacts,
    method: string,
    storeId: string | null,
    error: unknown,
  ): Promise<void> {
    if (isVaultError(error) && error.reason === "AUDIT_UNAVAILABLE") return;
    await this.#auditor()
      ?.append(record(facts, method, storeId, error))
      .catch(() => {});
  }
}

function record(
  facts: RequestFacts,
  method: string,
  storeId: string | null,
  error: unknown,
): AuditRecord {
  const { code, reason } = error === undefined ? { code: 0, reason: "OK" } : outcomeOf(error);
  return {
    at: Date.now(),
    requestId: facts.requestId,
    tokenId: facts.tokenId,
    method,
    storeId: storeId === null ? null : storeId.slice(0, 64),
    keyIdPrefix: null,
    code,
    reason,
    peer: facts.peer,
    clientIdentity: null,
  };
}

function auditUnavailable(cause: unknown): VaultError {
  return new VaultError(
    "AUDIT_UNAVAILABLE",
    "the server could not record this request in its audit log, so it did not serve it: retry shortly",
    { cause },
  );
}
