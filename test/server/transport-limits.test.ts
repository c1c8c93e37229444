import { randomBytes } from "node:crypto";
import { type ClientHttp2Session, connect, constants } from "node:http2";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HealthCheckRequest } from "../../gen/grpc/health/v1/health.js";
import { BatchGetValuesRequest } from "../../gen/hexclave/v1/vault_service.js";
import { DEFAULT_TRANSPORT_LIMITS } from "../../src/server/transport-limits.js";
import { rawClients } from "../support/grpc-clients.js";
import { frame, rawCall, rawSession } from "../support/raw-http2.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { createStore, keyRef, newFingerprint, setValue } from "../support/vault-fixtures.js";

/**
 * Threat: a client that makes the HTTP/2 layer hold without bound — huge
 * header lists, thousands of streams, unread responses, endless connections
 * — until the process runs out of memory or aborts (Node 20's nghttp2 did,
 * under oversized headers). Every limit is set explicitly; each excess gets a
 * clean refusal, and the server keeps serving the same client afterwards.
 */

const CHECK = "/grpc.health.v1.Health/Check";
const WATCH = "/grpc.health.v1.Health/Watch";
const healthBody = frame(Buffer.from(HealthCheckRequest.encode({ service: "" }).finish()));

let t: TestServer;
const MAX_CONNECTIONS = 4;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t?.close());

async function stillServes(session: ClientHttp2Session): Promise<void> {
  const answer = await rawCall(session, CHECK, {}, healthBody);
  expect(answer.grpcStatus).toBe(status.OK);
}

describe("per request", () => {
  it("advertises the header list size and stream limits it enforces", async () => {
    const session = await rawSession(t.address);
    expect(session.remoteSettings.maxHeaderListSize).toBe(
      DEFAULT_TRANSPORT_LIMITS.maxHeaderListBytes,
    );
    expect(session.remoteSettings.maxConcurrentStreams).toBe(
      DEFAULT_TRANSPORT_LIMITS.maxConcurrentStreams,
    );
    session.close();
  });

  it("resets a request whose header list is over 16 KiB, and serves the next one", async () => {
    const session = await rawSession(t.address);
    const answer = await rawCall(session, CHECK, { "x-pad": "a".repeat(20_000) }, healthBody);
    expect(answer.grpcStatus).toBeUndefined();
    expect(answer.rstCode).toBe(constants.NGHTTP2_ENHANCE_YOUR_CALM);
    await stillServes(session);
    session.close();
  });

  it("resets a request with more header fields than allowed, and serves the next one", async () => {
    const session = await rawSession(t.address);
    const many: Record<string, string> = {};
    for (let i = 0; i < DEFAULT_TRANSPORT_LIMITS.maxHeaderPairs + 10; i++) many[`x-h${i}`] = "v";
    const answer = await rawCall(session, CHECK, many, healthBody);
    expect(answer.grpcStatus).toBeUndefined();
    expect(answer.rstCode).toBe(constants.NGHTTP2_ENHANCE_YOUR_CALM);
    await stillServes(session);
    session.close();
  });
});

describe("per connection", () => {
  it("refuses streams past the concurrent-stream limit and keeps the ones it accepted", async () => {
    // A client that ignores the limit: all streams go out before the server's SETTINGS are read
    // (Node's own client queues streams past the advertised limit otherwise).
    const session = connect(`http://${t.address}`, { peerMaxConcurrentStreams: 10_000 });
    session.on("error", () => {});
    const limit = DEFAULT_TRANSPORT_LIMITS.maxConcurrentStreams;
    const outcomes = await Promise.all(
      Array.from({ length: limit + 12 }, () => openWatch(session)),
    );
    expect(outcomes.filter((o) => o === "open")).toHaveLength(limit);
    expect(outcomes.filter((o) => o === constants.NGHTTP2_REFUSED_STREAM)).toHaveLength(12);
    session.destroy();
  });

  it("refuses new streams while a connection holds more unsent output than its memory cap", async () => {
    const small = await startTestServer({ transportLimits: { maxSessionMemoryMb: 1 } });
    try {
      const c = rawClients(small.address);
      await createStore(c, small.adminToken, "big", { maxValueBytes: 1024 * 1024 });
      const fp = newFingerprint();
      const keys = Array.from({ length: 3 }, () => keyRef(fp));
      for (const key of keys) {
        await setValue(c, small.adminToken, "big", key, randomBytes(1000 * 1024));
      }
      c.close();
      // A client that never reads: the server's 3 MB answer stays queued in the session.
      const session = connect(`http://${small.address}`, { settings: { initialWindowSize: 0 } });
      session.on("error", () => {});
      await new Promise((resolve) => session.once("remoteSettings", resolve));
      const body = frame(
        Buffer.from(BatchGetValuesRequest.encode({ storeId: "big", keys }).finish()),
      );
      const stalled = session.request({
        ":method": "POST",
        ":path": "/hexclave.v1.VaultService/BatchGetValues",
        "content-type": "application/grpc",
        te: "trailers",
        authorization: `Bearer ${small.adminToken}`,
      });
      stalled.on("error", () => {});
      stalled.end(body);
      await new Promise((resolve) => stalled.once("response", resolve));
      let answer = await rawCall(session, CHECK, {}, healthBody);
      for (let i = 0; i < 50 && answer.rstCode === 0; i++) {
        answer = await rawCall(session, CHECK, {}, healthBody);
      }
      expect(answer.rstCode).toBe(constants.NGHTTP2_ENHANCE_YOUR_CALM);
      session.destroy();
      // Other connections are not affected.
      const other = await rawSession(small.address);
      await stillServes(other);
      other.close();
    } finally {
      await small.close();
    }
  });
});

describe("per server", () => {
  it(`closes connections past its cap on arrival, and accepts again once one closes`, async () => {
    const capped = await startTestServer({ transportLimits: { maxConnections: MAX_CONNECTIONS } });
    try {
      const sessions = await Promise.all(
        Array.from({ length: MAX_CONNECTIONS + 2 }, () => settledSession(capped.address)),
      );
      const open = sessions.filter((s) => s.ok);
      expect(open).toHaveLength(MAX_CONNECTIONS);
      expect(sessions.filter((s) => !s.ok)).toHaveLength(2);
      open[0]?.session.destroy();
      let again = await settledSession(capped.address);
      // The server notices the closed connection a moment later; retry until it has.
      for (let i = 0; i < 100 && !again.ok; i++) again = await settledSession(capped.address);
      expect(again.ok).toBe(true);
      for (const s of [...open, again]) s.session.destroy();
    } finally {
      await capped.close();
    }
  });
});

/** Opens a Health/Watch stream: "open" once its first message arrives, or the reset code. */
function openWatch(session: ClientHttp2Session): Promise<"open" | number> {
  return new Promise((resolve) => {
    const stream = session.request({
      ":method": "POST",
      ":path": WATCH,
      "content-type": "application/grpc",
      te: "trailers",
    });
    stream.on("error", () => {});
    stream.once("data", () => resolve("open"));
    stream.once("close", () => resolve(stream.rstCode ?? -1));
    stream.end(healthBody);
  });
}

/** Connects and reports whether the server spoke HTTP/2 (its SETTINGS) or closed the connection. */
function settledSession(address: string): Promise<{ ok: boolean; session: ClientHttp2Session }> {
  return new Promise((resolve) => {
    const session = connect(`http://${address}`);
    session.on("error", () => {});
    session.once("remoteSettings", () => resolve({ ok: true, session }));
    session.once("close", () => resolve({ ok: false, session }));
  });
}
