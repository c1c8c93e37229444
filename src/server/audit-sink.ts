import type { AuditRecord } from "../vault/audit-record.js";
import type { Storage } from "../vault/storage-port.js";
import type { Auditor } from "./interceptors/audit-calls.js";

/**
 * The audit interceptor's sink over the vault's storage: records go through
 * group commit (many reads' records, one transaction, one fsync); with
 * `--audit-stdout` each durable record is also printed as one JSON line for
 * a log shipper (`{"audit": {...}}`, beside the server's log lines).
 *
 * @example
 * const sink = auditSink(storage, { stdout: true });
 */
export function auditSink(storage: Storage, options: { readonly stdout: boolean }): Auditor {
  const print = options.stdout
    ? (record: AuditRecord): void => {
        process.stdout.write(`${JSON.stringify({ audit: record })}\n`);
      }
    : (): void => {};
  return {
    async append(record) {
      await storage.write({ kind: "appendAudit", records: [record] });
      print(record);
    },
    written: print,
  };
}
