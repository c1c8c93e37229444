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
  watchPage,
} from "../support/dashboard-browser.js";

/**
 * Threats: an injected script runs in the dashboard (XSS), or another site
 * frames it to trick a click (clickjacking). Every page is sent under a
 * Content-Security-Policy that allows script, style and images from the
 * server only — no inline script or style, no eval — and frame-ancestors
 * 'none'; the pages hold no inline script, handler or style to need more.
 * In Chromium the policy is enforced (an injected inline script is blocked
 * and reported) and a framing page gets nothing.
 */

const PAGES = [
  "/dashboard/sign-in",
  "/dashboard/stores",
  "/dashboard/tokens",
  "/dashboard/activity",
  "/dashboard/health",
] as const;

describe("dashboard pages run under a strict CSP", () => {
  let t: DashboardServer;
  let cookie: string;

  beforeAll(async () => {
    t = await startDashboardServer();
    cookie = await signInRaw(t.base, t.adminToken);
  });

  afterAll(() => t?.close());

  it.each(PAGES)("%s: the policy allows only this server's files and no framing", async (path) => {
    // The sign-in page is shown to a signed-out browser only.
    const headers: Record<string, string> = path.endsWith("sign-in") ? {} : { cookie };
    const answer = await rawRequest(`${t.base}${path}`, { headers });
    expect(answer.status).toBe(200);
    const csp = String(answer.headers["content-security-policy"]);
    const directives = new Map(
      csp.split(";").map((d) => {
        const [name = "", ...values] = d.trim().split(/\s+/);
        return [name, values.join(" ")] as const;
      }),
    );
    expect(directives.get("default-src")).toBe("'none'");
    expect(directives.get("script-src")).toBe("'self'");
    expect(directives.get("style-src")).toBe("'self'");
    expect(directives.get("frame-ancestors")).toBe("'none'");
    expect(directives.get("form-action")).toBe("'self'");
    expect(directives.get("base-uri")).toBe("'none'");
    expect(csp).not.toMatch(/unsafe-|\*|data:|http/);
    expect(answer.headers["x-frame-options"]).toBe("DENY");
    expect(answer.headers["x-content-type-options"]).toBe("nosniff");
    expect(answer.headers["cache-control"]).toBe("no-store");
    // Nothing the policy would have to allow: every script has a src, no handlers, no style attributes.
    expect(answer.body).toContain("<script src=");
    expect(answer.body).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(answer.body).not.toMatch(/\son[a-z]+\s*=/i);
    expect(answer.body).not.toMatch(/\sstyle\s*=/i);
    expect(answer.body).not.toMatch(/<style/i);
  });

  it("escapes what admins typed: a store description or token name cannot add markup", async () => {
    const attack = `<img src=x onerror="alert(1)">'"`;
    const stores = await rawRequest(`${t.base}/dashboard/stores`, { headers: { cookie } });
    const made = await rawRequest(`${t.base}/dashboard/stores`, {
      method: "POST",
      headers: { ...formHeaders(t.base), cookie },
      body: new URLSearchParams({
        csrf: csrfOf(stores.body),
        storeId: "escaped",
        description: attack,
      }).toString(),
    });
    expect(made.status).toBe(303);
    const token = await rawRequest(`${t.base}/dashboard/tokens`, {
      method: "POST",
      headers: { ...formHeaders(t.base), cookie },
      body: new URLSearchParams({
        csrf: csrfOf(stores.body),
        name: attack,
        access: "stores",
        grant: "escaped:read",
      }).toString(),
    });
    expect(token.status).toBe(200);
    for (const path of ["/dashboard/stores", "/dashboard/tokens", "/dashboard/activity"]) {
      const page = await rawRequest(`${t.base}${path}`, { headers: { cookie } });
      expect(page.body, path).not.toContain("<img");
      expect(page.body, path).not.toMatch(/onerror="/);
    }
    expect(
      (await rawRequest(`${t.base}/dashboard/stores`, { headers: { cookie } })).body,
    ).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&quot;");
  });

  describeWithChromium("in a real browser", () => {
    let browser: Browser;
    let framer: Server;
    let framerBase: string;

    // biome-ignore lint/suspicious/noDuplicateTestHooks: describeWithChromium opens a describe of its own
    beforeAll(async () => {
      browser = await launchChromium();
      framer = createServer((_req, res) => {
        res.setHeader("content-type", "text/html");
        res.end(`<!doctype html><iframe id="f" src="${t.base}/dashboard/sign-in"></iframe>`);
      });
      await new Promise<void>((resolve) => framer.listen(0, "127.0.0.1", resolve));
      framerBase = `http://localhost:${(framer.address() as AddressInfo).port}`;
    });

    // biome-ignore lint/suspicious/noDuplicateTestHooks: describeWithChromium opens a describe of its own
    afterAll(async () => {
      await browser?.close();
      await new Promise((resolve) => framer?.close(resolve));
    });

    it("enforces it: the pages' own script runs, an injected inline script is blocked and reported", async () => {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        const seen = watchPage(page);
        await signIn(page, t.base, t.adminToken);
        // The page's script runs: choosing "admin" greys out the per-store grants.
        await page.getByRole("navigation").getByRole("link", { name: "Tokens" }).click();
        await page.locator("#access-admin").check();
        await expect
          .poll(() => page.locator("fieldset[data-grants]").getAttribute("disabled"))
          .not.toBeNull();
        expect(seen.consoleErrors).toEqual([]);
        await page
          .addScriptTag({ content: "document.body.setAttribute('data-injected', 'ran')" })
          .catch(() => {});
        expect(await page.locator("body").getAttribute("data-injected")).toBeNull();
        await expect.poll(() => seen.consoleErrors.join("\n")).toMatch(/Content Security Policy/);
      } finally {
        await context.close();
      }
    });

    it("cannot be framed by another site", async () => {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        const framed = page.waitForResponse((r) => r.url() === `${t.base}/dashboard/sign-in`);
        await page.goto(`${framerBase}/`);
        expect((await framed).status()).toBe(200);
        const frame = page.frames().find((f) => f !== page.mainFrame());
        // Blocked: the frame shows Chromium's error page, not the sign-in form.
        await expect.poll(() => frame?.locator("input[name=token]").count()).toBe(0);
        expect(frame?.url()).not.toBe(`${t.base}/dashboard/sign-in`);
      } finally {
        await context.close();
      }
    });
  });
});
