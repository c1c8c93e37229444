import { randomBytes } from "node:crypto";
import type { ClientHttp2Session } from "node:http2";
import { gzipSync } from "node:zlib";
import { status } from "@grpc/grpc-js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GetValueRequest } from "../../gen/hexclave/v1/vault_service.js";
import { maxRequestMessageBytes } from "../../src/vault/limits.js";
import { rawClients } from "../support/grpc-clients.js";
import { frame, rawCall, rawSession, reasonOf } from "../support/raw-http2.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { createStore, keyRef, newFingerprint } from "../support/vault-fixtures.js";

/**
 * Threat: hostile bytes turned into INTERNAL answers (which hide the
 * client's mistake, page the operator, and leave no trace of who sent
 * them). grpc-js refuses these before any handler runs; each must still get
 * the right status, an ErrorInfo reason, a request id the log line shares,
 * and no internal text.
 */

const GET = "/hexclave.v1.VaultService/GetValue";
const logs: Record<string, unknown>[] = [];
let t: TestServer;
let session: ClientHttp2Session;
let auth: Record<string, string>;
let validBody: Buffer;

beforeAll(async () => {
  const logger = pino(
    { level: "info" },
    { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) },
  );
  t = await startTestServer({ logger });
  const c = rawClients(t.address);
  await createStore(c, t.adminToken, "raw");
  c.close();
  auth = { authorization: `Bearer ${t.adminToken}` };
  validBody = Buffer.from(
    GetValueRequest.encode({
      storeId: "raw",
      key: keyRef(newFingerprint()),
      previousKeys: [],
    }).finish(),
  );
  session = await rawSession(t.address);
});
afterAll(async () => {
  session?.close();
  await t?.close();
});

/** The log line that shares the answer's request id. */
function logLineFor(requestId: unknown): Record<string, unknown> | undefined {
  return logs.find((l) => l.requestId === requestId);
}

const cases: {
  name: string;
  headers?: Record<string, string>;
  body: () => Buffer;
  code: status;
  reason: string;
}[] = [
  {
    name: "an undecodable protobuf body",
    body: () => frame(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])),
    code: status.INVALID_ARGUMENT,
    reason: "MALFORMED_MESSAGE",
  },
  {
    // Protobuf skips a field whose wire type does not match: the request then has no store id.
    name: "a wrong wire type for store_id",
    body: () => frame(Buffer.from([0x09, 1, 2, 3, 4, 5, 6, 7, 8])),
    code: status.INVALID_ARGUMENT,
    reason: "INVALID_STORE_ID",
  },
  {
    name: 'a malformed grpc-timeout ("abc")',
    headers: { "grpc-timeout": "abc" },
    body: () => frame(validBody),
    code: status.INVALID_ARGUMENT,
    reason: "INVALID_TIMEOUT",
  },
  {
    name: "a body marked gzip that is not gzip",
    headers: { "grpc-encoding": "gzip" },
    body: () => frame(randomBytes(64), true),
    code: status.INVALID_ARGUMENT,
    reason: "MALFORMED_MESSAGE",
  },
  {
    name: "gzip that decompresses to an undecodable message",
    headers: { "grpc-encoding": "gzip" },
    body: () => frame(gzipSync(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])), true),
    code: status.INVALID_ARGUMENT,
    reason: "MALFORMED_MESSAGE",
  },
  {
    name: "an encoding the server does not support",
    headers: { "grpc-encoding": "snappy" },
    body: () => frame(validBody, true),
    code: status.UNIMPLEMENTED,
    reason: "UNSUPPORTED_ENCODING",
  },
  {
    name: "two request messages on a unary call",
    body: () => Buffer.concat([frame(validBody), frame(validBody)]),
    code: status.INVALID_ARGUMENT,
    reason: "MALFORMED_MESSAGE",
  },
  {
    name: "no request message on a unary call",
    body: () => Buffer.alloc(0),
    code: status.INVALID_ARGUMENT,
    reason: "MALFORMED_MESSAGE",
  },
  {
    name: "a message over the size limit",
    body: () => frame(Buffer.alloc(maxRequestMessageBytes + 1, 0)),
    code: status.RESOURCE_EXHAUSTED,
    reason: "MESSAGE_TOO_LARGE",
  },
];

describe("requests grpc-js refuses before any handler runs", () => {
  it.each(cases)("$name → $reason, with a request id and a log line", async (c) => {
    const answer = await rawCall(session, GET, { ...auth, ...c.headers }, c.body());
    expect(answer.grpcStatus).toBe(c.code);
    expect(reasonOf(answer)).toBe(c.reason);
    expect(answer.grpcMessage).not.toMatch(/deserializ|decompress message|Error:|\s+at \S+ \(/);
    const requestId = answer.headers["x-request-id"];
    expect(requestId).toMatch(/^[0-9a-f]{8}-[0-9a-z]+$/);
    const line = logLineFor(requestId);
    expect(line).toMatchObject({ msg: "call refused", reason: c.reason, method: GET });
  });
});

describe("authorization values grpc-js drops", () => {
  it.each([
    ["a tab after Bearer", `Bearer\thxk_${"0".repeat(16)}_${"a".repeat(43)}`],
    ["a trailing non-breaking space", `Bearer hxk_${"0".repeat(16)}_${"a".repeat(43)}\u00a0`],
  ])("%s: told what was wrong, not 'no access token'", async (_name, value) => {
    const answer = await rawCall(session, GET, { authorization: value }, frame(validBody));
    expect(answer.grpcStatus).toBe(status.UNAUTHENTICATED);
    expect(reasonOf(answer)).toBe("TOKEN_INVALID");
    expect(answer.grpcMessage).toContain("characters gRPC does not allow");
  });
});
