import { existsSync } from "node:fs";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { type Browser, chromium, type Page, type Response } from "playwright-core";
import { describe } from "vitest";
import { isRequired } from "./required-programs.js";
import { startTestServer, type TestServer } from "./test-server.js";

/** Chromium from apt (.ci/run installs it); playwright-core downloads no browser. */
export const CHROMIUM_PATH = process.env.HEXCLAVE_CHROMIUM ?? "/usr/bin/chromium";

/**
 * Runs a suite that drives Chromium, or skips it loudly when there is no
 * Chromium at CHROMIUM_PATH (a developer machine without `apt-get install
 * chromium`). In CI (CI=1 or HEXCLAVE_REQUIRE_BROWSER=1) nothing is skipped:
 * the suite runs and fails for want of a browser.
 *
 * @example
 * describeWithChromium("the dashboard in a browser", () => { … });
 */
export function describeWithChromium(name: string, fn: () => void): void {
  if (isRequired("HEXCLAVE_REQUIRE_BROWSER") || existsSync(CHROMIUM_PATH)) {
    describe(name, fn);
    return;
  }
  console.warn(
    `SKIPPED "${name}": no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set HEXCLAVE_CHROMIUM)`,
  );
  describe.skip(`${name} (skipped: no Chromium)`, fn);
}

/**
 * A headless Chromium for the dashboard tests.
 *
 * @example
 * const browser = await launchChromium();
 * afterAll(() => browser.close());
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    // Tests often run as root in containers, where Chromium's sandbox cannot start.
    args: ["--no-sandbox"],
    headless: true,
  });
}

/** A real server on port 0 with the dashboard on its HTTP listener, and where to open it. */
export interface DashboardServer extends TestServer {
  /** "http://127.0.0.1:PORT" (https:// under TLS). */
  readonly base: string;
}

/**
 * Starts a test server with `--dashboard --http-listen 127.0.0.1:0`.
 *
 * @example
 * const t = await startDashboardServer();
 * await page.goto(`${t.base}/dashboard/`);
 */
export async function startDashboardServer(
  options: Parameters<typeof startTestServer>[0] = {},
): Promise<DashboardServer> {
  const t = await startTestServer({ httpListen: "127.0.0.1:0", dashboard: true, ...options });
  const scheme = options.tlsCert === undefined ? "http" : "https";
  return Object.assign(t, { base: `${scheme}://${t.server.httpAddress}` });
}

/** One HTTP answer, its body as text. */
export interface RawAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * One request with exactly the headers given (Origin, Cookie, Sec-Fetch-Site
 * as an attacker's script or tool would send them): node:http, not a browser.
 *
 * @example
 * const answer = await rawRequest(`${t.base}/dashboard/stores`, { method: "POST", headers, body });
 */
export function rawRequest(
  url: string,
  options: {
    readonly method?: "GET" | "POST";
    readonly headers?: Record<string, string>;
    readonly body?: string;
    readonly ca?: string;
  } = {},
): Promise<RawAnswer> {
  const target = new URL(url);
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: options.method ?? "GET",
        headers: options.headers,
        ...(options.ca === undefined ? {} : { ca: options.ca }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** A form body, urlencoded, with its content type. */
export function formHeaders(base: string, extra: Record<string, string> = {}) {
  return {
    "content-type": "application/x-www-form-urlencoded",
    origin: base,
    "sec-fetch-site": "same-origin",
    ...extra,
  };
}

/**
 * Signs in without a browser (a same-origin form post) and returns the
 * session cookie's `name=value`.
 *
 * @example
 * const cookie = await signInRaw(t.base, t.adminToken);
 */
export async function signInRaw(base: string, token: string, ca?: string): Promise<string> {
  const answer = await rawRequest(`${base}/dashboard/sign-in`, {
    method: "POST",
    headers: formHeaders(base),
    body: new URLSearchParams({ token }).toString(),
    ...(ca === undefined ? {} : { ca }),
  });
  const setCookie = answer.headers["set-cookie"]?.[0];
  if (answer.status !== 303 || setCookie === undefined) {
    throw new Error(`sign-in answered ${answer.status} without a session cookie`);
  }
  return setCookie.split(";")[0] as string;
}

/**
 * The CSRF token the page's forms carry.
 *
 * @example
 * const csrf = csrfOf((await rawRequest(url, { headers: { cookie } })).body);
 */
export function csrfOf(page: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(page);
  if (match === null) throw new Error("the page has no CSRF token");
  return match[1] as string;
}

/**
 * Signs in through the sign-in page, as an admin would.
 *
 * @example
 * await signIn(page, t.base, t.adminToken);
 */
export async function signIn(page: Page, base: string, token: string): Promise<void> {
  await page.goto(`${base}/dashboard/`);
  await page.getByLabel("Admin token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${base}/dashboard/stores`);
}

/**
 * Records every response a page receives (bodies included) and every
 * console error (a CSP violation is one; a 4xx answer to a form is not
 * counted), from now on.
 *
 * @example
 * const seen = watchPage(page);
 * expect(seen.consoleErrors).toEqual([]);
 */
export function watchPage(page: Page): {
  readonly responses: Response[];
  readonly consoleErrors: string[];
} {
  const responses: Response[] = [];
  const consoleErrors: string[] = [];
  page.on("response", (r) => responses.push(r));
  page.on("console", (m) => {
    // A form answered 400/401/403 (a refusal the test asked for) is logged as a failed load: not a CSP violation.
    if (m.type() === "error" && !/^Failed to load resource: .* status of 4\d\d/.test(m.text())) {
      consoleErrors.push(m.text());
    }
  });
  page.on("pageerror", (e) => consoleErrors.push(e.message));
  return { responses, consoleErrors };
}
