import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  csrfOf,
  type DashboardServer,
  describeWithChromium,
  formHeaders,
  launchChromium,
  rawRequest,
  signIn,
  signInRaw,
  startDashboardServer,
} from "../support/dashboard-browser.js";

/**
 * Threat: another site makes a signed-in admin's browser post a change to
 * the dashboard (CSRF) — create a store, make an admin token, revoke one,
 * sign in as the attacker. Stopped twice over: a change must come from the
 * dashboard's own origin (Sec-Fetch-Site / Origin) and carry the session's
 * CSRF token; the cookie is SameSite=Strict besides. Each refusal changes
 * nothing; the same post from the dashboard itself works (the control).
 */

describe("cross-site requests to the dashboard are refused", () => {
  let t: DashboardServer;
  let cookie: string;
  let csrf: string;

  beforeAll(async () => {
    t = await startDashboardServer();
    cookie = await signInRaw(t.base, t.adminToken);
    csrf = csrfOf((await rawRequest(`${t.base}/dashboard/stores`, { headers: { cookie } })).body);
  });

  afterAll(() => t?.close());

  async function storesPage(): Promise<string> {
    return (await rawRequest(`${t.base}/dashboard/stores`, { headers: { cookie } })).body;
  }

  function createStore(storeId: string, headers: Record<string, string>, form = { csrf }) {
    return rawRequest(`${t.base}/dashboard/stores`, {
      method: "POST",
      headers,
      body: new URLSearchParams({ ...form, storeId }).toString(),
    });
  }

  const refusals: readonly [string, (id: string) => ReturnType<typeof createStore>][] = [
    ["another origin", (id) => createStore(id, { ...formHeaders("http://evil.example"), cookie })],
    [
      "a cross-site fetch metadata header",
      (id) =>
        createStore(id, { ...formHeaders(t.base, { "sec-fetch-site": "cross-site" }), cookie }),
    ],
    [
      "a same-site (other port or subdomain) request",
      (id) =>
        createStore(id, { ...formHeaders(t.base, { "sec-fetch-site": "same-site" }), cookie }),
    ],
    [
      "an opaque origin (Origin: null)",
      (id) => {
        const headers: Record<string, string> = { ...formHeaders("null"), cookie };
        delete headers["sec-fetch-site"];
        return createStore(id, headers);
      },
    ],
    [
      "neither Origin nor Sec-Fetch-Site",
      (id) => createStore(id, { "content-type": "application/x-www-form-urlencoded", cookie }),
    ],
    [
      "no CSRF token",
      (id) => createStore(id, { ...formHeaders(t.base), cookie }, {} as { csrf: string }),
    ],
    [
      "another session's CSRF token",
      async (id) => {
        const other = await signInRaw(t.base, t.adminToken);
        const otherCsrf = csrfOf(
          (await rawRequest(`${t.base}/dashboard/stores`, { headers: { cookie: other } })).body,
        );
        return createStore(id, { ...formHeaders(t.base), cookie }, { csrf: otherCsrf });
      },
    ],
  ];

  it.each(refusals)("refuses a change from %s, and changes nothing", async (_, post) => {
    const storeId = `csrf-${Math.random().toString(36).slice(2, 10)}`;
    const answer = await post(storeId);
    expect(answer.status).toBe(403);
    expect(answer.body).toContain("refused");
    expect(await storesPage()).not.toContain(`id="store-${storeId}"`);
  });

  it("accepts the same post from the dashboard's own page (control)", async () => {
    const answer = await createStore("csrf-control", { ...formHeaders(t.base), cookie });
    expect(answer.status).toBe(303);
    expect(await storesPage()).toContain('id="store-csrf-control"');
  });

  it("refuses a sign-in posted from another origin (login CSRF)", async () => {
    const answer = await rawRequest(`${t.base}/dashboard/sign-in`, {
      method: "POST",
      headers: formHeaders("http://evil.example", { "sec-fetch-site": "cross-site" }),
      body: new URLSearchParams({ token: t.adminToken }).toString(),
    });
    expect(answer.status).toBe(403);
    expect(answer.headers["set-cookie"]).toBeUndefined();
  });

  describeWithChromium("in a real browser", () => {
    let browser: Browser;
    let evil: Server;
    let evilBase: string;
    const storeId = "made-by-evil";

    // biome-ignore lint/suspicious/noDuplicateTestHooks: describeWithChromium opens a describe of its own
    beforeAll(async () => {
      browser = await launchChromium();
      // The attacker's page: another site (localhost vs 127.0.0.1), posting a form at the dashboard on load.
      evil = createServer((_req, res) => {
        res.setHeader("content-type", "text/html");
        res.end(`<!doctype html><form id="f" method="post" action="${t.base}/dashboard/stores">
<input name="storeId" value="${storeId}"><input name="csrf" value="${csrf}"></form>
<script>document.getElementById("f").submit()</script>`);
      });
      await new Promise<void>((resolve) => evil.listen(0, "127.0.0.1", resolve));
      evilBase = `http://localhost:${(evil.address() as AddressInfo).port}`;
    });

    // biome-ignore lint/suspicious/noDuplicateTestHooks: describeWithChromium opens a describe of its own
    afterAll(async () => {
      await browser?.close();
      await new Promise((resolve) => evil?.close(resolve));
    });

    it("refuses a form another site makes a signed-in admin's browser post", async () => {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await signIn(page, t.base, t.adminToken);
        const answered = page.waitForResponse(
          (r) => r.url() === `${t.base}/dashboard/stores` && r.request().method() === "POST",
        );
        await page.goto(`${evilBase}/`);
        const answer = await answered;
        expect(answer.status()).toBe(403);
        expect(await storesPage()).not.toContain(`id="store-${storeId}"`);
      } finally {
        await context.close();
      }
    });
  });
});
