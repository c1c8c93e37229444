import type { IncomingMessage, ServerResponse } from "node:http";
import type { Html } from "./html.js";

/**
 * The dashboard pages' Content-Security-Policy: scripts, styles and images
 * only from this server (no inline script or style, no eval), requests and
 * form posts only back to it, never framed.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

/** A form body larger than this is refused: the largest form (a token's grants) is far smaller. */
export const MAX_FORM_BYTES = 64 * 1024;

/** A request the dashboard refuses before looking at it, with the status to send. */
export class RefusedRequest extends Error {
  override readonly name = "RefusedRequest";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Sends a page (or a fragment of one) under the dashboard's CSP.
 *
 * @example
 * sendHtml(response, 200, page);
 */
export function sendHtml(
  response: ServerResponse,
  status: number,
  body: Html,
  cookies: readonly string[] = [],
): void {
  response.statusCode = status;
  response.setHeader("content-type", "text/html; charset=utf-8");
  response.setHeader("content-security-policy", DASHBOARD_CSP);
  // "no-referrer" (the listener's default) makes the browser send `Origin: null` on
  // the pages' own form posts, which crossSiteRefusal must then refuse; "same-origin"
  // still gives nothing to another site.
  response.setHeader("referrer-policy", "same-origin");
  if (cookies.length > 0) response.setHeader("set-cookie", [...cookies]);
  response.end(body.toString());
}

/**
 * Answers with 303 See Other: after a form post, the browser fetches the page with GET.
 *
 * @example
 * redirect(response, "/dashboard/stores");
 */
export function redirect(
  response: ServerResponse,
  location: string,
  cookies: readonly string[] = [],
): void {
  response.statusCode = 303;
  response.setHeader("location", location);
  if (cookies.length > 0) response.setHeader("set-cookie", [...cookies]);
  response.end();
}

/** The value of one cookie the request carries, if any. */
export function readCookie(request: IncomingMessage, name: string): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Reads a urlencoded form body, bounded.
 *
 * @throws RefusedRequest 415 for another content type, 413 past MAX_FORM_BYTES.
 */
export async function readForm(request: IncomingMessage): Promise<URLSearchParams> {
  const type = (request.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") {
    request.resume();
    throw new RefusedRequest(415, "the dashboard takes form posts only");
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new RefusedRequest(413, "the form is too large");
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

/**
 * Why a change request must be refused as cross-site, or undefined if it
 * comes from the dashboard's own pages: the browser's Sec-Fetch-Site, when
 * sent, must say same-origin, and its Origin must name this host. A request
 * carrying neither is refused too: every browser the dashboard supports
 * sends them on a form post, and a script elsewhere has no session anyway.
 * (The per-session CSRF token is checked on top of this.)
 *
 * @example
 * const refusal = crossSiteRefusal(request);
 */
export function crossSiteRefusal(request: IncomingMessage): string | undefined {
  const site = request.headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin") {
    return `refused a ${site} request: dashboard changes come only from its own pages`;
  }
  const origin = request.headers.origin;
  if (origin === undefined) {
    return site === undefined
      ? "refused a request that says neither its origin nor its site"
      : undefined;
  }
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    host = undefined;
  }
  if (host === undefined || host === "" || host !== request.headers.host) {
    return "refused a request from another origin: dashboard changes come only from its own pages";
  }
  return undefined;
}

/** The browser's address, as recorded in the audit log. */
export function peerOf(request: IncomingMessage): string {
  const socket = request.socket;
  const address = socket.remoteAddress ?? "unknown";
  const shown = address.includes(":") ? `[${address}]` : address;
  return `dashboard:${shown}:${socket.remotePort ?? 0}`;
}
