import type { CallOutcome } from "./error-status.js";

/**
 * What is known about a finished call: everything logs, metrics and the
 * audit trail may record. Never a token's secret, a value or a key name.
 */
export interface CallRecord {
  /** The method's HTTP/2 path, e.g. "/hexclave.v1.VaultService/GetValue". */
  readonly method: string;
  readonly requestId: string;
  readonly outcome: CallOutcome;
  /** Time from arrival to the end of the call, in milliseconds. */
  readonly ms: number;
  /** The client's address. */
  readonly peer: string;
  /** The id of the token the caller presented (its public part), if well-formed. */
  readonly tokenId: string | undefined;
  /** The store the request named, if any. */
  readonly storeId: string | undefined;
  /** What went wrong, for the server's own log only; never sent anywhere else. */
  readonly error: unknown;
}

/** Told about every call when it ends. Must not throw, and should not block. */
export type CallObserver = (record: CallRecord) => void;

/**
 * The store a request names, if it names one (every data-plane request and
 * most admin requests have a `storeId`).
 *
 * @example
 * storeIdOf({ storeId: "oauth-tokens", key: … }); // "oauth-tokens"
 */
export function storeIdOf(request: unknown): string | undefined {
  if (request === null || typeof request !== "object") return undefined;
  const id = (request as { storeId?: unknown }).storeId;
  return typeof id === "string" && id !== "" ? id.slice(0, 64) : undefined;
}
