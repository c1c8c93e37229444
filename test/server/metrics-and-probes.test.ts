import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import parsePrometheusTextFormat, { type PrometheusFamily } from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachBackend } from "../support/backends.js";
import {
  bearer,
  call,
  expectStatus,
  type RawClients,
  rawClients,
} from "../support/grpc-clients.js";
import { spawnServer } from "../support/server-process.js";
import { withDataFile } from "../support/sqlite-files.js";
import { makeTestCertificates } from "../support/test-certificates.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import {
  createStore,
  createToken,
  getValue,
  keyRef,
  newFingerprint,
  setValue,
} from "../support/vault-fixtures.js";

/**
 * The HTTP listener (`--http-listen`): Prometheus metrics read by a real
 * Prometheus text parser — every family docs/operations.md lists present,
 * values moving under load — /healthz and /readyz, and the threat the
 * metrics must not become: a place where tokens, key ids, values or (unless
 * allowed) store names show up. Once per backend.
 */

interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function get(
  address: string,
  path: string,
  options: { method?: string; ca?: Buffer; headers?: Record<string, string> } = {},
): Promise<HttpAnswer> {
  const [host, port] = [
    address.slice(0, address.lastIndexOf(":")),
    address.slice(address.lastIndexOf(":") + 1),
  ];
  const send = options.ca === undefined ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      {
        host,
        port: Number(port),
        path,
        method: options.method ?? "GET",
        headers: options.headers ?? {},
        ...(options.ca === undefined ? {} : { ca: options.ca, servername: "localhost" }),
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

interface Scrape extends Map<string, PrometheusFamily> {
  readonly text: string;
}

async function scrape(address: string): Promise<Scrape> {
  const answer = await get(address, "/metrics");
  expect(answer.status).toBe(200);
  expect(answer.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
  const families = new Map(parsePrometheusTextFormat(answer.body).map((f) => [f.name, f]));
  return Object.assign(families, { text: answer.body });
}

/**
 * A labelled histogram's `_count` sample. parse-prometheus-text-format keeps
 * only unlabelled histograms whole (it drops the labels and counts of
 * labelled ones), so these lines are read directly.
 */
function histogramCount(scraped: Scrape, name: string, labels: Record<string, string>): number {
  for (const line of scraped.text.split("\n")) {
    const match = /^(\w+)_count\{(.*)\} (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return 0;
}

/** The value of one counter or gauge sample with exactly these labels (0 if absent). */
function sample(
  families: ReadonlyMap<string, PrometheusFamily>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const family = families.get(name);
  const found = family?.metrics.find((m) =>
    Object.entries(labels).every(([k, v]) => m.labels?.[k] === v),
  );
  return Number(found?.value ?? found?.count ?? 0);
}

/** Every family docs/operations.md describes. */
const FAMILIES = [
  "hexclave_build_info",
  "hexclave_calls_total",
  "hexclave_call_duration_seconds",
  "hexclave_calls_in_flight",
  "hexclave_write_batch_commands",
  "hexclave_write_commit_seconds",
  "hexclave_write_queue_depth",
  "hexclave_entry_cache_hits_total",
  "hexclave_entry_cache_misses_total",
  "hexclave_entry_cache_bytes",
  "hexclave_database_connections",
  "hexclave_database_waiting_clients",
  "hexclave_health_serving",
  "hexclave_storage_condition",
  "hexclave_stores",
  "hexclave_store_entries",
  "hexclave_store_value_bytes",
  "process_cpu_seconds_total",
  "process_resident_memory_bytes",
  "process_open_fds",
  "nodejs_eventloop_lag_seconds",
  "nodejs_heap_size_used_bytes",
];

forEachBackend((backend) => {
  let t: TestServer;
  let c: RawClients;
  let http: string;

  beforeAll(async () => {
    const { dataDir, databaseUrl } = await backend.fresh();
    t = await startTestServer({ dataDir, databaseUrl, httpListen: "127.0.0.1:0" });
    c = rawClients(t.address);
    http = t.server.httpAddress as string;
  });
  afterAll(async () => {
    c?.close();
    await t?.close();
  });

  it("answers /healthz and /readyz, with the security headers on every response", async () => {
    const live = await get(http, "/healthz");
    expect(live.status).toBe(200);
    expect(JSON.parse(live.body)).toEqual({ status: "live" });
    const ready = await get(http, "/readyz");
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ status: "ready", database: "ok", writes: "serving" });
    for (const answer of [live, ready]) {
      expect(answer.headers["cache-control"]).toBe("no-store");
      expect(answer.headers["x-content-type-options"]).toBe("nosniff");
      expect(answer.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
      expect(answer.headers["x-request-id"]).toMatch(/^[0-9a-f]{8}-/);
    }
    expect((await get(http, "/nope")).status).toBe(404);
    const wrongMethod = await get(http, "/metrics", { method: "POST" });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe("GET");
    expect((await get(http, "/healthz", { method: "HEAD" })).status).toBe(200);
  });

  it("exports every family, and the numbers move under load", async () => {
    const admin = bearer(t.adminToken);
    await createStore(c, t.adminToken, "metered");
    const fp = newFingerprint();
    const keys = Array.from({ length: 20 }, () => keyRef(fp));
    const before = await scrape(http);
    for (const name of FAMILIES) expect(before.has(name), name).toBe(true);

    await Promise.all(
      keys.map((key) => setValue(c, t.adminToken, "metered", key, randomBytes(48))),
    );
    for (let round = 0; round < 3; round++) {
      await Promise.all(keys.map((key) => getValue(c, t.adminToken, "metered", key)));
    }
    await expectStatus(
      call(
        c.vault,
        c.vault.getValue,
        { storeId: "metered", key: keys[0], previousKeys: [] },
        bearer("hxk_nope"),
      ),
      status.UNAUTHENTICATED,
      "TOKEN_INVALID",
    );
    await call(c.admin, c.admin.listStores, {}, admin);
    const after = await scrape(http);

    const vault = "hexclave.v1.VaultService";
    const gets = (m: Scrape) =>
      sample(m, "hexclave_calls_total", { service: vault, method: "GetValue", code: "OK" });
    expect(gets(after) - gets(before)).toBe(60);
    expect(
      sample(after, "hexclave_calls_total", { service: vault, method: "SetValue", code: "OK" }) -
        sample(before, "hexclave_calls_total", { service: vault, method: "SetValue", code: "OK" }),
    ).toBe(20);
    expect(
      sample(after, "hexclave_calls_total", {
        service: vault,
        method: "GetValue",
        code: "UNAUTHENTICATED",
      }),
    ).toBe(1);
    expect(
      histogramCount(after, "hexclave_call_duration_seconds", {
        service: vault,
        method: "GetValue",
      }) -
        histogramCount(before, "hexclave_call_duration_seconds", {
          service: vault,
          method: "GetValue",
        }),
    ).toBe(61); // 60 served, 1 refused: latency is by method, whatever the outcome
    const batches = after.get("hexclave_write_batch_commands")?.metrics[0];
    expect(Number(batches?.sum)).toBeGreaterThan(
      Number(before.get("hexclave_write_batch_commands")?.metrics[0]?.sum),
    );
    expect(Number(after.get("hexclave_write_commit_seconds")?.metrics[0]?.count)).toBeGreaterThan(
      0,
    );
    expect(sample(after, "hexclave_stores")).toBe(1);
    expect(sample(after, "hexclave_store_entries")).toBe(20);
    expect(sample(after, "hexclave_store_value_bytes")).toBe(20 * 48);
    expect(sample(after, "hexclave_health_serving", { service: "overall" })).toBe(1);
    expect(sample(after, "hexclave_storage_condition", { condition: "ok" })).toBe(1);
    expect(sample(after, "process_resident_memory_bytes")).toBeGreaterThan(10e6);
    const build = after.get("hexclave_build_info")?.metrics[0]?.labels;
    expect(build?.storage).toBe(backend.name);
    if (backend.name === "postgres") {
      // Shared databases keep no entry cache; the pool is in use.
      expect(sample(after, "hexclave_entry_cache_hits_total")).toBe(0);
      expect(after.get("hexclave_database_connections")?.metrics.length).toBe(2);
    } else {
      // 60 reads of 20 keys: the first of each was a miss, the rest hits.
      const hits = sample(after, "hexclave_entry_cache_hits_total");
      const misses = sample(after, "hexclave_entry_cache_misses_total");
      expect(hits + misses).toBeGreaterThanOrEqual(60);
      expect(hits).toBeGreaterThanOrEqual(40);
      expect(after.get("hexclave_database_connections")?.metrics).toEqual([]);
    }
  });

  it("metrics never show a token, a key id, a value, or a store's name unless allowed", async () => {
    await createStore(c, t.adminToken, "secret-project-name");
    const reader = await createToken(c, t.adminToken, [
      { storeId: "secret-project-name", read: true, write: true },
    ]);
    const key = keyRef(newFingerprint());
    const value = randomBytes(64);
    await setValue(c, reader.secret, "secret-project-name", key, value);
    await getValue(c, reader.secret, "secret-project-name", key);
    await call(
      c.vault,
      c.vault.getValue,
      { storeId: "secret-project-name", key, previousKeys: [] },
      bearer(`${reader.secret}x`),
    ).catch(() => {});
    const text = (await get(http, "/metrics")).body;
    for (const needle of [
      t.adminToken,
      reader.secret,
      reader.id,
      "secret-project-name",
      key.keyId.toString("hex"),
      key.keyId.toString("base64"),
      value.toString("hex"),
      value.toString("base64"),
    ]) {
      expect(text.includes(needle), needle.slice(0, 24)).toBe(false);
    }
  });
});

describe("metrics with store labels allowed", () => {
  it("labels the store gauges with store ids, and only those", async () => {
    const t = await startTestServer({ httpListen: "127.0.0.1:0", metricsStoreLabels: true });
    const c = rawClients(t.address);
    try {
      await createStore(c, t.adminToken, "labelled-a");
      await createStore(c, t.adminToken, "labelled-b");
      await setValue(c, t.adminToken, "labelled-a", keyRef(newFingerprint()), randomBytes(40));
      const families = await scrape(t.server.httpAddress as string);
      expect(sample(families, "hexclave_store_entries", { store: "labelled-a" })).toBe(1);
      expect(sample(families, "hexclave_store_entries", { store: "labelled-b" })).toBe(0);
      expect(families.get("hexclave_store_entries")?.metrics.length).toBe(2);
      const labelled = [...families.values()].filter((f) =>
        f.metrics.some((m) => m.labels?.store !== undefined),
      );
      expect(labelled.map((f) => f.name).sort()).toEqual([
        "hexclave_store_entries",
        "hexclave_store_value_bytes",
      ]);
    } finally {
      c.close();
      await t.close();
    }
  });
});

describe("the HTTP listener at its edges", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "hexclave-http-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("serves HTTPS with the gRPC listener's certificate when TLS is on, and refuses plaintext", async () => {
    const certs = makeTestCertificates(join(dir, "certs"));
    const t = await startTestServer({
      httpListen: "127.0.0.1:0",
      tlsCert: certs.serverCert,
      tlsKey: certs.serverKey,
    });
    try {
      const http = t.server.httpAddress as string;
      const ca = await readFile(certs.ca);
      const answer = await get(http, "/readyz", { ca });
      expect(answer.status).toBe(200);
      expect(answer.headers["strict-transport-security"]).toContain("max-age=");
      await expect(get(http, "/readyz")).rejects.toThrow();
    } finally {
      await t.close();
    }
  });

  it("closes a connection that sends oversized headers, and keeps serving", async () => {
    const t = await startTestServer({ httpListen: "127.0.0.1:0" });
    try {
      const http = t.server.httpAddress as string;
      const port = Number(http.slice(http.lastIndexOf(":") + 1));
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, "127.0.0.1", () => {
          socket.write(
            `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(64 * 1024)}\r\n\r\n`,
          );
        });
        let got = "";
        socket.on("data", (chunk) => {
          got += chunk.toString();
        });
        socket.on("close", () => resolve(got));
        socket.on("error", reject);
      });
      expect(reply).toMatch(/^HTTP\/1\.1 431/);
      expect((await get(http, "/healthz")).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it("says not ready while shutting down, then stops listening", async () => {
    const t = await startTestServer({ httpListen: "127.0.0.1:0", shutdownGraceMs: 2_000 });
    const c = rawClients(t.address);
    const http = t.server.httpAddress as string;
    await createStore(c, t.adminToken, "draining");
    // A listing that stays open keeps the server draining while /readyz is asked.
    const stream = c.vault.listEntries(
      {
        storeId: "draining",
        secretFingerprints: [],
        pageSize: 1n,
        startAfterKeyId: Buffer.alloc(0),
      },
      bearer(t.adminToken),
    );
    stream.on("error", () => {});
    const closing = t.close();
    const during = await get(http, "/readyz").catch(() => undefined);
    if (during !== undefined) expect(during.status).toBe(503);
    await closing;
    c.close();
    await expect(get(http, "/healthz")).rejects.toThrow();
  });
});

describe("metrics of a --workers group", () => {
  it("serves the whole group's metrics, whichever worker the scrape reaches", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hexclave-workers-metrics-"));
    const adminToken = `workers-admin-${randomBytes(24).toString("base64url")}`;
    const p = await spawnServer(
      {
        HEXCLAVE_DATA_DIR: dir,
        HEXCLAVE_ADMIN_TOKEN: adminToken,
        HEXCLAVE_HTTP_LISTEN: "127.0.0.1:0",
      },
      ["--workers", "2"],
    );
    try {
      const serving = p.logs.find((l) => l.msg === "hexclave serving");
      const http = String(serving?.http);
      // Each client is its own connection: node:cluster hands connections to workers in turn.
      const clients = Array.from({ length: 6 }, () =>
        rawClients(p.address, { ownConnection: true }),
      );
      await createStore(clients[0] as RawClients, adminToken, "group");
      const key = keyRef(newFingerprint());
      await setValue(clients[0] as RawClients, adminToken, "group", key, randomBytes(40));
      for (const c of clients) {
        for (let i = 0; i < 5; i++) await getValue(c, adminToken, "group", key);
      }
      for (const c of clients) c.close();
      const counts = [];
      for (let scrapeNo = 0; scrapeNo < 4; scrapeNo++) {
        const families = await scrape(http);
        counts.push(
          sample(families, "hexclave_calls_total", {
            service: "hexclave.v1.VaultService",
            method: "GetValue",
            code: "OK",
          }),
        );
        // Database-wide numbers are the same on every worker: the largest, not the sum.
        expect(sample(families, "hexclave_stores")).toBe(1);
        expect(sample(families, "hexclave_store_entries")).toBe(1);
      }
      expect(counts).toEqual([30, 30, 30, 30]);
      // Both workers served some of them (otherwise the sum proves nothing).
      const chains = new Set(
        (await auditChainsOf(dir))
          .filter((c) => c.method.endsWith("/GetValue"))
          .map((c) => c.chain),
      );
      expect(chains.size).toBe(2);
    } finally {
      p.child.kill("SIGTERM");
      await p.exited;
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

/** Which writer chain (one per worker process) recorded each call. */
async function auditChainsOf(dataDir: string): Promise<{ chain: string; method: string }[]> {
  return withDataFile(
    dataDir,
    (db) =>
      db.prepare("select chain_id as chain, method from audit_log").all() as {
        chain: string;
        method: string;
      }[],
    { readonly: true },
  );
}
