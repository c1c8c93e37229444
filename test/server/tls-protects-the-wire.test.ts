import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { promisify } from "node:util";
import { credentials, Metadata } from "@grpc/grpc-js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HealthClient } from "../../gen/grpc/health/v1/health.js";
import { generateSecret, HexclaveClient } from "../../src/client/index.js";
import { startServer } from "../../src/server/index.js";
import { startRecordingProxy } from "../client/support/recording-proxy.js";
import { serverFleet, stop, tempDataDir } from "../support/server-control.js";
import { CLI_PATH } from "../support/server-process.js";
import { makeTestCertificates, type TestCertificates } from "../support/test-certificates.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

/**
 * Threat: a network between the backend and the vault. Tokens travel in
 * metadata, so without TLS anyone on the path can replay them. With TLS only
 * a client that trusts the server's CA connects; with mTLS only a client
 * whose certificate the client CA signed gets past the first interceptor; a
 * rotated certificate is served without a restart; and a capture of the wire
 * shows neither the token nor which method was called.
 */

const fleet = serverFleet();
let certs: TestCertificates;
const read = (path: string): Buffer => readFileSync(path);
const secret = generateSecret();

beforeAll(async () => {
  certs = makeTestCertificates(fleet.track(await tempDataDir("hexclave-tls-")));
});
afterAll(() => fleet.cleanup());

async function tlsServer(files: {
  cert: string;
  key: string;
  clientCa?: string;
}): Promise<TestServer> {
  return startTestServer({
    tlsCert: files.cert,
    tlsKey: files.key,
    ...(files.clientCa === undefined ? {} : { tlsClientCa: files.clientCa }),
  });
}

/** Creates a store and writes, then reads, a value through the SDK. */
async function roundTrip(client: HexclaveClient, storeId: string): Promise<string | null> {
  const store = await client.getDataVaultStore(storeId);
  await store.setValue("k", "over TLS", { secret });
  return store.getValue("k", { secret });
}

async function storeFor(t: TestServer, id: string): Promise<void> {
  // Admin calls go over TLS too: a trusted client with the admin token.
  const { AdminServiceClient } = await import("../../gen/hexclave/v1/admin_service.js");
  const raw = new AdminServiceClient(t.address, credentials.createSsl(read(certs.ca)));
  const md = new Metadata();
  md.set("authorization", `Bearer ${t.adminToken}`);
  await new Promise<void>((resolve, reject) =>
    raw.createStore({ storeId: id, description: "" }, md, (error) =>
      error === null ? resolve() : reject(error),
    ),
  );
  raw.close();
}

describe("TLS", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await tlsServer({ cert: certs.serverCert, key: certs.serverKey });
    await storeFor(t, "tls");
  });
  afterAll(() => t?.close());

  it("serves a client that trusts its CA", async () => {
    const client = new HexclaveClient({
      address: t.address,
      token: t.adminToken,
      tls: { ca: read(certs.ca) },
    });
    expect(await roundTrip(client, "tls")).toBe("over TLS");
    client.close();
  });

  it.each([
    ["a plaintext client", undefined],
    ["a client trusting another CA", () => ({ ca: read(certs.otherCa) })],
  ])("refuses %s", async (_name, tls) => {
    const client = new HexclaveClient({
      address: t.address,
      token: t.adminToken,
      timeoutMs: 3000,
      ...(tls === undefined ? {} : { tls: tls() }),
    });
    await expect(client.getDataVaultStore("tls")).rejects.toMatchObject({ code: "UNAVAILABLE" });
    client.close();
  });

  it("a capture of the wire shows neither the token nor the method called", async () => {
    const proxy = await startRecordingProxy(t.address);
    const client = new HexclaveClient({
      address: proxy.address,
      token: t.adminToken,
      tls: { ca: read(certs.ca), serverName: "localhost" },
    });
    expect(await roundTrip(client, "tls")).toBe("over TLS");
    client.close();
    const wire = Buffer.concat([proxy.clientToServer(), proxy.serverToClient()]);
    await proxy.close();
    expect(wire.length).toBeGreaterThan(1000);
    for (const needle of [
      t.adminToken,
      "Bearer",
      "hexclave.v1",
      "/VaultService/",
      "authorization",
      "over TLS",
    ]) {
      expect(wire.includes(Buffer.from(needle)), `"${needle}" on the wire`).toBe(false);
    }
  });

  it("serves a replaced certificate to new connections without a restart", async () => {
    const dir = fleet.track(await tempDataDir("hexclave-tls-rotate-"));
    const cert = join(dir, "tls.crt");
    const key = join(dir, "tls.key");
    copyFileSync(certs.serverCert, cert);
    copyFileSync(certs.serverKey, key);
    const rotating = await tlsServer({ cert, key });
    try {
      const subjectOf = () =>
        new Promise<string>((resolve, reject) => {
          const port = Number(rotating.address.split(":")[1]);
          const socket = tlsConnect(
            { port, host: "127.0.0.1", ca: read(certs.ca), ALPNProtocols: ["h2"] },
            () => {
              const cn = socket.getPeerCertificate().subject.CN;
              socket.destroy();
              resolve(String(cn));
            },
          );
          socket.on("error", reject);
        });
      expect(await subjectOf()).toBe("server");
      const kept = new HexclaveClient({
        address: rotating.address,
        token: rotating.adminToken,
        tls: { ca: read(certs.ca) },
      });
      await storeFor(rotating, "rotating");
      await (await kept.getDataVaultStore("rotating")).setValue("k", "before", { secret });
      // Key first, then certificate: a moment where they disagree is refused, the old pair kept.
      copyFileSync(certs.nextServerKey, key);
      copyFileSync(certs.nextServerCert, cert);
      let subject = await subjectOf();
      for (let i = 0; i < 150 && subject !== "next-server"; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        subject = await subjectOf();
      }
      expect(subject).toBe("next-server");
      // The connection made before the rotation still works: the listener never closed.
      expect(await (await kept.getDataVaultStore("rotating")).getValue("k", { secret })).toBe(
        "before",
      );
      kept.close();
    } finally {
      await rotating.close();
    }
  });

  it("a server with an expired certificate is refused by its clients", async () => {
    const expired = await tlsServer({ cert: certs.expiredServerCert, key: certs.expiredServerKey });
    try {
      const client = new HexclaveClient({
        address: expired.address,
        token: expired.adminToken,
        timeoutMs: 3000,
        tls: { ca: read(certs.ca) },
      });
      await expect(client.getDataVaultStore("any")).rejects.toMatchObject({ code: "UNAVAILABLE" });
      client.close();
    } finally {
      await expired.close();
    }
  });

  it("admin commands run beside the server (docker exec) use its own address, certificate and admin token", async () => {
    const run = promisify(execFile);
    // Exactly the server's own settings, as in its container: nothing meant for a client.
    const env = {
      PATH: process.env.PATH ?? "",
      HEXCLAVE_LISTEN: t.address,
      HEXCLAVE_TLS_SERVER_CERT: certs.serverCert,
      HEXCLAVE_ADMIN_TOKEN: t.adminToken,
    };
    await run(process.execPath, [CLI_PATH, "stores", "create", "beside-it"], { env });
    const listed = await run(process.execPath, [CLI_PATH, "stores", "list", "--json"], { env });
    expect(JSON.parse(listed.stdout).map((s: { id: string }) => s.id)).toContain("beside-it");
    // Nothing else on stderr: no warning about an IP address as the TLS server name.
    expect(listed.stderr).toBe("");
    // Another certificate than the server's own is not trusted.
    const other = await run(process.execPath, [CLI_PATH, "stores", "list"], {
      env: { ...env, HEXCLAVE_TLS_SERVER_CERT: certs.clientCert },
    }).then(
      () => undefined,
      (e: { code: number }) => e,
    );
    expect(other?.code).toBe(1);
  });
});

describe("mTLS", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await tlsServer({ cert: certs.serverCert, key: certs.serverKey, clientCa: certs.clientCa });
  });
  afterAll(() => t?.close());

  const withCert = (cert: string, key: string) => ({
    ca: read(certs.ca),
    cert: read(cert),
    key: read(key),
  });

  it("serves a client whose certificate the client CA signed", async () => {
    const client = new HexclaveClient({
      address: t.address,
      token: t.adminToken,
      tls: withCert(certs.clientCert, certs.clientKey),
    });
    const { AdminServiceClient } = await import("../../gen/hexclave/v1/admin_service.js");
    const raw = new AdminServiceClient(
      t.address,
      credentials.createSsl(read(certs.ca), read(certs.clientKey), read(certs.clientCert)),
    );
    const md = new Metadata();
    md.set("authorization", `Bearer ${t.adminToken}`);
    await new Promise<void>((resolve, reject) =>
      raw.createStore({ storeId: "mutual", description: "" }, md, (e) =>
        e === null ? resolve() : reject(e),
      ),
    );
    raw.close();
    expect(await roundTrip(client, "mutual")).toBe("over TLS");
    client.close();
  });

  it.each([
    ["no client certificate", () => ({ ca: read(certs.ca) })],
    [
      "a certificate from another CA",
      () => withCert(certs.strangerClientCert, certs.strangerClientKey),
    ],
    ["an expired certificate", () => withCert(certs.expiredClientCert, certs.expiredClientKey)],
  ])("refuses a call with %s before looking at its token", async (_name, tls) => {
    const client = new HexclaveClient({ address: t.address, token: t.adminToken, tls: tls() });
    await expect(client.getDataVaultStore("mutual")).rejects.toMatchObject({
      code: "UNAUTHENTICATED",
      reason: "CLIENT_CERTIFICATE_REQUIRED",
    });
    client.close();
  });

  it("answers health checks without a client certificate (probes cannot present one)", async () => {
    const health = new HealthClient(t.address, credentials.createSsl(read(certs.ca)));
    const answer = await new Promise<number>((resolve, reject) =>
      health.check({ service: "" }, new Metadata(), { deadline: Date.now() + 5000 }, (e, res) =>
        e === null ? resolve(res.status) : reject(e),
      ),
    );
    health.close();
    expect(answer).toBe(1);
  });

  it("hexclave health checks a TLS server from beside it, pinning the server's own certificate", async () => {
    const run = promisify(execFile);
    const result = await run(process.execPath, [CLI_PATH, "health", "--address", t.address], {
      env: { PATH: process.env.PATH ?? "", HEXCLAVE_TLS_SERVER_CERT: certs.serverCert },
    });
    expect(result.stdout).toContain("SERVING");
  });
});

describe("plaintext off loopback", () => {
  it("is refused unless --insecure-plaintext says a trusted layer encrypts it", async () => {
    const dataDir = fleet.track(await tempDataDir("hexclave-plain-"));
    const options = {
      listen: "0.0.0.0:0",
      dataDir,
      logger: pino({ level: "silent" }),
      env: { HEXCLAVE_ADMIN_TOKEN: "p".repeat(40) },
    };
    await expect(startServer(options)).rejects.toThrow(
      /refusing to serve --listen 0\.0\.0\.0:0 in plaintext/,
    );
    const logs: Record<string, unknown>[] = [];
    const server = await startServer({
      ...options,
      insecurePlaintext: true,
      logger: pino({ level: "info" }, { write: (line: string) => logs.push(JSON.parse(line)) }),
    });
    try {
      expect(logs.some((l) => String(l.msg).startsWith("serving in plaintext off loopback"))).toBe(
        true,
      );
      // The log names the address really bound: all interfaces, not loopback.
      const serving = logs.find((l) => l.msg === "hexclave serving");
      expect(serving?.address).toMatch(/^0\.0\.0\.0:\d+$/);
    } finally {
      await server.close();
    }
  });

  it("a spawned server on a wildcard address with TLS needs no flag", async () => {
    const dataDir = fleet.track(await tempDataDir("hexclave-wild-"));
    const p = await fleet.start({
      HEXCLAVE_DATA_DIR: dataDir,
      HEXCLAVE_LISTEN: "0.0.0.0:0",
      HEXCLAVE_ADMIN_TOKEN: `wild-admin-${randomBytes(24).toString("base64url")}`,
      HEXCLAVE_TLS_SERVER_CERT: certs.serverCert,
      HEXCLAVE_TLS_SERVER_KEY: certs.serverKey,
    });
    expect(p.address).toMatch(/^0\.0\.0\.0:\d+$/);
    expect(await stop(p, "SIGKILL")).toMatchObject({ signal: "SIGKILL" });
  });
});
