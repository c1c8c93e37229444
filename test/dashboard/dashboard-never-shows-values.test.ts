import { randomBytes } from "node:crypto";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { generateSecret, HexclaveClient } from "../../src/client/index.js";
import {
  type DashboardServer,
  describeWithChromium,
  launchChromium,
  rawRequest,
  signIn,
  signInRaw,
  startDashboardServer,
} from "../support/dashboard-browser.js";
import { rawClients } from "../support/grpc-clients.js";
import { type LabelledNeedle, scanForNeedles } from "../support/needle-scan.js";
import { createStore, createToken } from "../support/vault-fixtures.js";

/**
 * Threat: the dashboard becomes a window onto what the vault keeps — a value,
 * the client secret that seals it, the key it is stored under, a service's
 * token. Values are sealed in the SDK's process and the server holds opaque
 * blobs, so none of these can reach a page: this writes them through the SDK,
 * opens every page (and every audit-log filter, and the charts' fragment) in
 * a real browser, and scans every response body, in every encoding a page
 * might show bytes in. A negative control proves the scan finds what is there.
 */

function needles(label: string, text: string): LabelledNeedle[] {
  const bytes = Buffer.from(text, "utf8");
  return [
    { label: `${label} (text)`, bytes },
    { label: `${label} (hex)`, bytes: Buffer.from(bytes.toString("hex")) },
    { label: `${label} (base64)`, bytes: Buffer.from(bytes.toString("base64")) },
    { label: `${label} (base64url)`, bytes: Buffer.from(bytes.toString("base64url")) },
  ].concat(
    text.includes('"')
      ? [{ label: `${label} (html-escaped)`, bytes: Buffer.from(text.replaceAll('"', "&quot;")) }]
      : [],
  );
}

describeWithChromium(
  "the dashboard never shows a value, a client secret, a key or a service token",
  () => {
    let t: DashboardServer;
    let browser: Browser;
    const storeId = "needle-store";
    const value = `value-${randomBytes(16).toString("hex")}`;
    const key = `gh:${randomBytes(8).toString("hex")}`;
    const secret = generateSecret();
    let serviceToken = "";

    beforeAll(async () => {
      [t, browser] = await Promise.all([startDashboardServer(), launchChromium()]);
      const c = rawClients(t.address);
      try {
        await createStore(c, t.adminToken, storeId, { description: "scanned" });
        serviceToken = (
          await createToken(c, t.adminToken, [{ storeId, read: true, write: true }], "needle-svc")
        ).secret;
      } finally {
        c.close();
      }
      const client = new HexclaveClient({ address: t.address, token: serviceToken });
      try {
        const store = await client.getDataVaultStore(storeId);
        await store.setValue(key, value, { secret });
        expect(await store.getValue(key, { secret })).toBe(value);
      } finally {
        client.close();
      }
    });

    afterAll(async () => {
      await browser?.close();
      await t?.close();
    });

    it("in no response body of any page", async () => {
      const context = await browser.newContext();
      const bodies: [string, Buffer][] = [];
      try {
        const page = await context.newPage();
        // Each body is asked for as it arrives: the browser drops it at the next navigation.
        const pending: Promise<[string, Buffer]>[] = [];
        page.on("response", (r) => {
          if (r.status() >= 300 && r.status() < 400) return;
          // Chromium keeps no body for its own favicon fetch; the icon is a constant in the package.
          if (r.request().resourceType() === "other") return;
          const name = `${r.request().method()} ${r.url()}`;
          pending.push(
            r.body().then(
              (b): [string, Buffer] => [name, b],
              // Under load the next navigation can come before the browser hands the body over:
              // a GET is then asked again with the same session, so it is still scanned.
              async (error: unknown): Promise<[string, Buffer]> => {
                if (r.request().method() !== "GET") throw error;
                const cookie = (await context.cookies())
                  .map((c) => `${c.name}=${c.value}`)
                  .join("; ");
                const again = await rawRequest(r.url(), { headers: { cookie } });
                return [`${name} (asked again)`, Buffer.from(again.body)];
              },
            ),
          );
        });
        await signIn(page, t.base, t.adminToken);
        const paths = [
          "/dashboard/stores",
          "/dashboard/tokens",
          "/dashboard/tokens?all=1",
          "/dashboard/activity",
          `/dashboard/activity?store=${storeId}`,
          "/dashboard/activity?method=hexclave.v1.VaultService/SetValue",
          "/dashboard/activity?result=0&window=1h",
          "/dashboard/activity/charts",
          "/dashboard/health",
        ];
        for (const path of paths) {
          await page.goto(`${t.base}${path}`);
          await page.waitForLoadState("networkidle");
        }
        bodies.push(...(await Promise.all(pending)));
        // The sign-in page and /metrics too, outside the browser.
        const cookie = await signInRaw(t.base, t.adminToken);
        for (const path of ["/dashboard/sign-in", "/metrics"]) {
          const answer = await rawRequest(`${t.base}${path}`, { headers: { cookie } });
          bodies.push([`GET ${path}`, Buffer.from(answer.body)]);
        }
      } finally {
        await context.close();
      }
      expect(bodies.length).toBeGreaterThan(12);
      // The pages did show the store and its one entry: they were looked at, not empty.
      const stores = bodies.find(([name]) => name.endsWith("/dashboard/stores"))?.[1].toString();
      expect(stores).toContain(`id="store-${storeId}"`);
      expect(bodies.some(([, b]) => b.includes("SetValue"))).toBe(true);

      const all = [
        ...needles("the value", value),
        ...needles("the client secret", secret),
        ...needles("the key", key),
        ...needles("the service token", serviceToken),
      ];
      expect(scanForNeedles(bodies, all)).toEqual([]);
      // Negative control: the same scan finds a needle planted in one body.
      const planted: [string, Buffer][] = [
        ...bodies,
        ["planted", Buffer.concat([Buffer.from("<p>"), Buffer.from(value), Buffer.from("</p>")])],
      ];
      expect(scanForNeedles(planted, all)).toEqual(["planted: the value (text)"]);
    });
  },
);
