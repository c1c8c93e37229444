import type { AuditRecord } from "../../vault/audit-record.js";
import { isVaultError, VaultError } from "../../vault/vault-error.js";
import type { Interceptor, ServerCall } from "../call-pipeline.js";
import { storeIdOf } from "../call-record.js";
import { outcomeOf } from "../error-status.js";
import { tokenIdOf } from "../token-id.js";

/** Where audit records go. */
export interface Auditor {
  /**
   * Appends a record; resolves once it is durable (group-committed).
   *
   * @throws Error when it cannot be written.
   */
  append(record: AuditRecord): Promise<void>;
  /** Told of every record once it is durable, whichever transaction wrote it. */
  written(record: AuditRecord): void;
}

/**
 * Records every call in the audit log, and fails closed: nothing is served
 * without its record.
 *
 * - A write hands its record to the write (ctx.audit), which commits it in
 *   the same transaction: written if and only if the write succeeded.
 * - A read's record is appended (group-committed) before its response is
 *   sent; if it cannot be written the call fails UNAVAILABLE instead.
 * - A stream's record is appended before its first message.
 * - A refusal (bad token, no access, bad input, a check that failed) is
 *   appended too, then the refusal is sent.
 *
 * `writes` names the methods whose handlers pass the record into their write.
 *
 * @example
 * chain([observe, auditCalls(() => auditor, WRITE_METHODS), authenticate(a)], handler);
 */
export function auditCalls(
  auditor: () => Auditor | undefined,
  writes: ReadonlySet<string>,
): Interceptor {
  return (next) => async (call) => {
    const sink = auditor();
    if (sink === undefined) return next(call);
    const draft = draftOf(call);
    call.audit = draft;
    const final = (record: AuditRecord): AuditRecord => ({
      ...record,
      tokenId: call.caller?.tokenId ?? record.tokenId,
    });
    try {
      if (call.method.kind === "serverStream") await appendOrRefuse(sink, final(draft));
      const response = await next(call);
      if (call.method.kind === "unary") {
        if (writes.has(call.method.path)) sink.written(final(draft));
        else await appendOrRefuse(sink, final(draft));
      }
      return response;
    } catch (error) {
      if (isVaultError(error) && error.reason === "AUDIT_UNAVAILABLE") throw error;
      const { code, reason } = outcomeOf(error);
      // Best effort: the call fails either way, and says why.
      await sink.append(final({ ...draft, code, reason })).catch(() => {});
      throw error;
    }
  };
}

async function appendOrRefuse(sink: Auditor, record: AuditRecord): Promise<void> {
  try {
    await sink.append(record);
  } catch (cause) {
    throw new VaultError(
      "AUDIT_UNAVAILABLE",
      "the server could not record this call in its audit log, so it did not serve it: retry shortly",
      { cause },
    );
  }
}

function draftOf(call: ServerCall): AuditRecord {
  return {
    at: Date.now(),
    requestId: call.requestId,
    tokenId: tokenIdOf(call.metadata.get("authorization")[0]) ?? null,
    method: call.method.path,
    storeId: storeIdOf(call.request) ?? null,
    keyIdPrefix: keyIdPrefixOf(call.request),
    code: 0,
    reason: "OK",
    peer: call.peer,
    clientIdentity: call.clientIdentity ?? null,
  };
}

/** The first 4 bytes of the key id a request names (its first, for a batch), in hex. */
function keyIdPrefixOf(request: unknown): string | null {
  if (request === null || typeof request !== "object") return null;
  const r = request as { key?: { keyId?: unknown }; keys?: { keyId?: unknown }[] };
  const keyId = r.key?.keyId ?? r.keys?.[0]?.keyId;
  return keyId instanceof Uint8Array && keyId.length >= 4
    ? Buffer.from(keyId.subarray(0, 4)).toString("hex")
    : null;
}
