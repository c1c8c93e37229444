import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forEachBackend } from "../support/backends.js";
import {
  csrfOf,
  type DashboardServer,
  formHeaders,
  rawRequest,
  signInRaw,
  startDashboardServer,
} from "../support/dashboard-browser.js";
import { rawClients } from "../support/grpc-clients.js";
import { makeTestCertificates } from "../support/test-certificates.js";
import { createStore, createToken } from "../support/vault-fixtures.js";

/**
 * Threats: a script on the page, or a network observer, steals the session;
 * a stolen or left-behind cookie keeps working after sign-out; a session
 * outlives the admin token it was opened with. The cookie is HttpOnly,
 * SameSite=Strict, short-lived, Secure (and __Host-) under TLS; it holds a
 * random id, never the token; sign-out ends the session on the server; a
 * revoked token ends its sessions with the refusal a gRPC call would get.
 */

function attributes(setCookie: string): Map<string, string> {
  return new Map(
    setCookie
      .split(";")
      .slice(1)
      .map((part) => {
        const [name, value = ""] = part.trim().split("=");
        return [(name ?? "").toLowerCase(), value] as const;
      }),
  );
}

async function signInAnswer(base: string, token: string, ca?: string) {
  return rawRequest(`${base}/dashboard/sign-in`, {
    method: "POST",
    headers: formHeaders(base),
    body: new URLSearchParams({ token }).toString(),
    ...(ca === undefined ? {} : { ca }),
  });
}

// Sessions live in the vault's database: once per backend (SQLite, PostgreSQL).
forEachBackend((backend) =>
  describe("the dashboard session cookie", () => {
    let t: DashboardServer;

    beforeAll(async () => {
      const { dataDir, databaseUrl } = await backend.fresh();
      t = await startDashboardServer({ dataDir, databaseUrl });
    });

    afterAll(() => t?.close());

    it("is HttpOnly, SameSite=Strict, for one hour at most, and holds no token", async () => {
      const answer = await signInAnswer(t.base, t.adminToken);
      const setCookie = answer.headers["set-cookie"]?.[0] ?? "";
      const [name, value] = (setCookie.split(";")[0] ?? "").split("=");
      expect(name).toBe("hexclave-session");
      expect(value).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(setCookie).not.toContain(t.adminToken);
      const flags = attributes(setCookie);
      expect(flags.has("httponly")).toBe(true);
      expect(flags.get("samesite")).toBe("Strict");
      expect(flags.get("path")).toBe("/");
      expect(Number(flags.get("max-age"))).toBeGreaterThan(0);
      expect(Number(flags.get("max-age"))).toBeLessThanOrEqual(3600);
      // Plain HTTP (loopback): a Secure cookie would never come back.
      expect(flags.has("secure")).toBe(false);
    });

    it("is refused after sign-out, on the server, even if the browser kept it", async () => {
      const cookie = await signInRaw(t.base, t.adminToken);
      const page = await rawRequest(`${t.base}/dashboard/tokens`, { headers: { cookie } });
      expect(page.status).toBe(200);
      const out = await rawRequest(`${t.base}/dashboard/sign-out`, {
        method: "POST",
        headers: { ...formHeaders(t.base), cookie },
        body: new URLSearchParams({ csrf: csrfOf(page.body) }).toString(),
      });
      expect(out.status).toBe(303);
      expect(out.headers["set-cookie"]?.[0]).toMatch(/Max-Age=0/);
      const replay = await rawRequest(`${t.base}/dashboard/tokens`, { headers: { cookie } });
      expect(replay.status).toBe(303);
      expect(replay.headers.location).toBe("/dashboard/sign-in");
      const replayPost = await rawRequest(`${t.base}/dashboard/stores`, {
        method: "POST",
        headers: { ...formHeaders(t.base), cookie },
        body: new URLSearchParams({
          csrf: csrfOf(page.body),
          storeId: "after-sign-out",
        }).toString(),
      });
      expect(replayPost.status).toBe(401);
      expect(replayPost.body).not.toContain('id="store-after-sign-out"');
    });

    it("is refused for a made-up session id", async () => {
      const forged = `hexclave-session=${"A".repeat(43)}`;
      const answer = await rawRequest(`${t.base}/dashboard/stores`, {
        headers: { cookie: forged },
      });
      expect(answer.status).toBe(303);
      expect(answer.headers.location).toBe("/dashboard/sign-in");
    });

    it("ends when the admin token it was opened with is revoked, with the gRPC refusal", async () => {
      // A second admin token, made through the dashboard and shown once.
      const admin = await signInRaw(t.base, t.adminToken);
      const tokens = await rawRequest(`${t.base}/dashboard/tokens`, { headers: { cookie: admin } });
      const made = await rawRequest(`${t.base}/dashboard/tokens`, {
        method: "POST",
        headers: { ...formHeaders(t.base), cookie: admin },
        body: new URLSearchParams({
          csrf: csrfOf(tokens.body),
          name: "second-admin",
          access: "admin",
          ttl: "3600",
        }).toString(),
      });
      expect(made.status).toBe(200);
      const second = /id="new-token" type="text" readonly value="([^"]+)"/.exec(made.body)?.[1];
      expect(second).toMatch(/^hxk_/);
      const tokenId = /^hxk_([0-9a-f]{16})/.exec(second ?? "")?.[1] ?? "";
      expect(tokenId).toHaveLength(16);

      const session = await signInRaw(t.base, second ?? "");
      expect(
        (await rawRequest(`${t.base}/dashboard/stores`, { headers: { cookie: session } })).status,
      ).toBe(200);
      const revoked = await rawRequest(`${t.base}/dashboard/tokens/revoke`, {
        method: "POST",
        headers: { ...formHeaders(t.base), cookie: admin },
        body: new URLSearchParams({ csrf: csrfOf(tokens.body), tokenId }).toString(),
      });
      expect(revoked.status).toBe(303);
      const after = await rawRequest(`${t.base}/dashboard/stores`, {
        headers: { cookie: session },
      });
      expect(after.status).toBe(401);
      expect(after.body).toContain("revoked");
      expect(after.headers["set-cookie"]?.[0]).toMatch(/Max-Age=0/);
    });

    it("refuses a token that is not an admin's, as the gRPC admin calls do", async () => {
      const unknown = await signInAnswer(t.base, "hxk_0000000000000000_not-a-token");
      expect(unknown.status).toBe(401);
      expect(unknown.headers["set-cookie"]).toBeUndefined();
      const c = rawClients(t.address);
      try {
        await createStore(c, t.adminToken, "scoped-only");
        const scoped = await createToken(c, t.adminToken, [
          { storeId: "scoped-only", read: true, write: true },
        ]);
        const answer = await signInAnswer(t.base, scoped.secret);
        expect(answer.status).toBe(403);
        expect(answer.headers["set-cookie"]).toBeUndefined();
      } finally {
        c.close();
      }
    });
  }),
);

describe("the dashboard session cookie under TLS", () => {
  let dir: string;
  let t: DashboardServer;
  let ca: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "hexclave-dashboard-tls-"));
    const certs = makeTestCertificates(dir);
    ca = readFileSync(certs.ca, "utf8");
    t = await startDashboardServer({ tlsCert: certs.serverCert, tlsKey: certs.serverKey });
  });

  afterAll(async () => {
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("is Secure and __Host- prefixed, so it never travels in clear or to another path or host", async () => {
    expect(t.base).toMatch(/^https:/);
    const answer = await signInAnswer(t.base, t.adminToken, ca);
    const setCookie = answer.headers["set-cookie"]?.[0] ?? "";
    expect(setCookie).toMatch(/^__Host-hexclave-session=/);
    const flags = attributes(setCookie);
    expect(flags.has("secure")).toBe(true);
    expect(flags.has("httponly")).toBe(true);
    expect(flags.get("samesite")).toBe("Strict");
    expect(flags.get("path")).toBe("/");
    expect(flags.has("domain")).toBe(false);
    expect(answer.headers["strict-transport-security"]).toBeDefined();
  });
});
