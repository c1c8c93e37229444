/**
 * One record of the audit log: who did what to which store, and how it
 * ended. Never a value, a key name, a secret or a whole token — the key id
 * appears only as a short prefix, enough to correlate, too short to replay.
 */
export interface AuditRecord {
  /** When the call ended (Unix ms). */
  readonly at: number;
  readonly requestId: string;
  /** The public id of the token presented, if well-formed (known or not). */
  readonly tokenId: string | null;
  /** The gRPC method path, e.g. "/hexclave.v1.VaultService/GetValue". */
  readonly method: string;
  readonly storeId: string | null;
  /** The first 4 bytes of the key id the call named, in hex. */
  readonly keyIdPrefix: string | null;
  /** The gRPC status code sent. */
  readonly code: number;
  /** "OK", or the ErrorInfo reason sent. */
  readonly reason: string;
  /** The client's address. */
  readonly peer: string;
  /** The verified client certificate (subject and fingerprint prefix) under mTLS. */
  readonly clientIdentity: string | null;
}

/** A write's audit record, committed in the write's own transaction when it succeeds. */
export interface Audited {
  readonly audit?: AuditRecord | undefined;
}
