import type { Logger } from "pino";
import type { StorageCondition, StorageReads } from "../../vault/storage-port.js";
import type { Vault } from "../../vault/vault.js";
import { isVaultError } from "../../vault/vault-error.js";
import { outcomeOf } from "../error-status.js";
import type { HealthState } from "../health-service.js";
import type { ActivityRecord } from "./activity-history.js";
import type { DashboardAudit, RequestFacts } from "./dashboard-audit.js";
import type { Session } from "./dashboard-sessions.js";
import type { Html } from "./html.js";

/** A notice shown above a page. */
export interface Notice {
  readonly text: string;
  readonly bad?: boolean;
}

/** What a page handler answers. */
export type PageResult =
  | {
      readonly kind: "page";
      readonly status?: number;
      readonly title: string;
      readonly content: Html;
      readonly notice?: Notice | undefined;
    }
  | { readonly kind: "redirect"; readonly location: string }
  /** A piece of a page, fetched by the page's script (the Activity charts). */
  | { readonly kind: "fragment"; readonly content: Html };

/** One request, signed in. */
export interface PageContext {
  readonly session: Session;
  readonly facts: RequestFacts;
  readonly query: URLSearchParams;
  /** The posted form (POST only); its CSRF token already checked. */
  readonly form: URLSearchParams;
}

/** Facts about this server for the Health page and the code snippets. */
export interface ServerFacts {
  readonly health: HealthState;
  readonly condition: () => StorageCondition | undefined;
  readonly storageKind: "sqlite" | "postgres";
  /** Where the SDK and the CLI connect (the gRPC listener). */
  readonly grpcAddress: string;
  readonly tls: boolean;
  readonly audit: boolean;
  /** This process in the database's server registry. */
  readonly serverId: string;
  readonly groupId: string;
  readonly inGroup: boolean;
  readonly startedAt: number;
}

/** What every page handler may use. */
export interface PageDeps {
  /** The vault, once open. @throws VaultError STORAGE_UNAVAILABLE while the server starts. */
  readonly vault: () => Vault;
  readonly audit: DashboardAudit;
  /** The database's reads (the audit log), once open. @throws VaultError STORAGE_UNAVAILABLE before. */
  readonly reads: () => StorageReads;
  readonly server: ServerFacts;
  /** The Activity charts' records: this process's, or every worker's in a group. */
  readonly activity: () => Promise<ActivityRecord[]>;
  readonly log: Logger;
}

/** A page action: the method it is recorded under in the audit log (if any), and its handler. */
export interface PageAction {
  /** Refusals of the session are recorded under it; undefined: not recorded (polled fragments). */
  readonly method: string | undefined;
  run(deps: PageDeps, context: PageContext): Promise<PageResult>;
}

/** A page: its path, what GET shows, what POST changes. */
export interface DashboardPage {
  readonly path: string;
  readonly get?: PageAction;
  readonly post?: PageAction;
}

/**
 * What to tell the admin about a failure: a vault error's own message (the
 * text the CLI prints: it is written for the caller), or for a server fault
 * only that one happened, with the request id to find it in the log.
 *
 * @example
 * errors.storeId = messageOf(error, facts.requestId);
 */
export function messageOf(error: unknown, requestId: string): string {
  if (!isVaultError(error) || outcomeOf(error).serverFault) {
    return `internal error (request id ${requestId}): see the server log`;
  }
  return error.message;
}

/**
 * The form field a vault error is about, by its reason or its `field`
 * metadata; undefined if it is about none (then it is shown above the form).
 *
 * @example
 * fieldOf(error); // "description"
 */
export function fieldOf(error: unknown): string | undefined {
  if (!isVaultError(error)) return undefined;
  const field = error.metadata.field;
  if (field !== undefined) return field;
  switch (error.reason) {
    case "INVALID_STORE_ID":
      return error.message.startsWith('"grants') ? "grants" : "store_id";
    case "STORE_ALREADY_EXISTS":
    case "STORE_NOT_FOUND":
      return "store_id";
    case "TOKEN_NOT_FOUND":
      return "token_id";
    default:
      return undefined;
  }
}

/** Whether an error means "the database or the audit log is away": a 503, not the admin's mistake. */
export function statusOf(error: unknown): number {
  const { code, serverFault } = outcomeOf(error);
  if (serverFault) return 500;
  // UNAVAILABLE, RESOURCE_EXHAUSTED (disk full, overloaded).
  if (code === 14 || code === 8) return 503;
  if (code === 16) return 401;
  if (code === 7) return 403;
  if (code === 5) return 404;
  if (code === 6) return 409;
  return 400;
}
