import { readFileSync } from "node:fs";
import { type ServiceError, status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { ErrorInfo } from "../../gen/google/rpc/error_details.js";
import { Status } from "../../gen/google/rpc/status.js";
import { errorFromStatus } from "../../src/client/status-to-error.js";
import { STATUS_BY_REASON, toCallStatus } from "../../src/server/error-status.js";
import { VaultError, type VaultErrorReason } from "../../src/vault/vault-error.js";

/**
 * docs/sealing.md §12 tells other-language clients how each server error
 * looks on the wire and what the reference client makes of it. An
 * implementation written from a stale table would branch on the wrong
 * status, so the table is checked against the one server mapping and the
 * one client mapping, reason by reason, in both directions.
 */

interface Row {
  readonly reason: VaultErrorReason;
  readonly grpcStatus: string;
  readonly metadata: string;
  readonly clientCode: string;
}

function specifiedRows(): Row[] {
  const doc = readFileSync(new URL("../../docs/sealing.md", import.meta.url), "utf8");
  const section = doc.slice(doc.indexOf("## 12. Errors on the wire"), doc.indexOf("## 13."));
  const row = /^\| `([A-Z_]+)` +\| `([A-Z_]+)` +\| (.*?) +\| `([A-Z_]+)`/gm;
  return [...section.matchAll(row)].map((m) => ({
    reason: m[1] as VaultErrorReason,
    grpcStatus: m[2] as string,
    metadata: m[3] as string,
    clientCode: m[4] as string,
  }));
}

/** What a client receives for `error`: the status the server sends, as grpc-js surfaces it. */
function received(error: unknown): ServiceError {
  const sent = toCallStatus(error, "req-1");
  return Object.assign(new Error(`${sent.code} ${status[sent.code]}: ${sent.details}`), {
    code: sent.code,
    details: sent.details,
    metadata: sent.metadata,
  }) as ServiceError;
}

describe("docs/sealing.md §12, errors on the wire", () => {
  const rows = specifiedRows();

  it("lists every reason the server sends, once, with its gRPC status", () => {
    expect(rows.map((r) => r.reason).sort()).toEqual(Object.keys(STATUS_BY_REASON).sort());
    for (const { reason, grpcStatus } of rows) {
      expect({ reason, status: status[STATUS_BY_REASON[reason]] }).toEqual({
        reason,
        status: grpcStatus,
      });
    }
  });

  it("sends each as that status with one ErrorInfo in domain hexclave.dev", () => {
    for (const { reason, grpcStatus } of rows) {
      const sent = toCallStatus(new VaultError(reason, "message"), "req-1");
      const raw = sent.metadata.get("grpc-status-details-bin")[0] as Buffer;
      const details = Status.decode(raw);
      expect(details.code).toBe(status[grpcStatus as keyof typeof status]);
      expect(details.details.map((d) => d.typeUrl)).toEqual([
        "type.googleapis.com/google.rpc.ErrorInfo",
      ]);
      const info = ErrorInfo.decode(details.details[0]?.value as Uint8Array);
      expect({ reason: info.reason, domain: info.domain }).toEqual({
        reason,
        domain: "hexclave.dev",
      });
    }
  });

  it("sends only a request id with DATA_CORRUPTED and INTERNAL, as the table says", () => {
    const onlyRequestId = rows.filter((r) => r.metadata.includes("only"));
    expect(onlyRequestId.map((r) => r.reason).sort()).toEqual(["DATA_CORRUPTED", "INTERNAL"]);
    for (const { reason, metadata } of onlyRequestId) {
      const sent = toCallStatus(new VaultError(reason, "SELECT secret FROM rows"), "req-1");
      const raw = sent.metadata.get("grpc-status-details-bin")[0] as Buffer;
      const info = ErrorInfo.decode(Status.decode(raw).details[0]?.value as Uint8Array);
      expect(metadata).toContain("`request_id` only");
      expect(info.metadata).toEqual({ request_id: "req-1" });
      expect(sent.details).not.toContain("SELECT");
    }
  });

  it("becomes the client error code the table names", () => {
    for (const { reason, clientCode } of rows) {
      const mapped = errorFromStatus(received(new VaultError(reason, "message")));
      expect({ reason, code: mapped.code, kept: mapped.reason }).toEqual({
        reason,
        code: clientCode,
        kept: reason,
      });
    }
  });
});
