import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";

/** Handles one HTTP request. Must settle; a rejection becomes a 500. */
export type HttpHandler = (request: IncomingMessage, response: ServerResponse) => void;

/** What a route's handler is given besides the request and the response. */
export interface HttpContext {
  /** Ties the response (x-request-id header) to the server's log line. */
  readonly requestId: string;
  /** The request's path, without the query string. */
  readonly path: string;
  /** The query string's parameters. */
  readonly query: URLSearchParams;
}

/** One route: a method and a path (or a path prefix ending in "/"). */
export interface HttpRoute {
  readonly method: "GET" | "POST";
  /** An exact path, or with `prefix` every path under it. */
  readonly path: string;
  readonly prefix?: boolean;
  handle(request: IncomingMessage, response: ServerResponse, context: HttpContext): unknown;
}

/**
 * Headers on every response: nothing is cached, sniffed, framed or given a
 * referrer, and without a route's own policy the page may load nothing at all.
 */
const BASE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
});

/**
 * The HTTP listener's router: exact paths first, then the longest prefix.
 * HEAD is answered as GET without a body. An unknown path is a 404, a known
 * path with another method a 405 naming the allowed ones; a handler that
 * throws is a 500 with the request id, its cause logged — never sent.
 *
 * @example
 * const handle = routeHttp([{ method: "GET", path: "/healthz", handle: (_q, r) => r.end("ok") }], log, ids);
 */
export function routeHttp(
  routes: readonly HttpRoute[],
  log: Logger,
  requestId: () => string,
  tls: boolean,
): HttpHandler {
  const exact = new Map<string, HttpRoute[]>();
  const prefixes = [...routes.filter((r) => r.prefix === true)].sort(
    (a, b) => b.path.length - a.path.length,
  );
  for (const route of routes) {
    if (route.prefix === true) continue;
    exact.set(route.path, [...(exact.get(route.path) ?? []), route]);
  }
  return (request, response) => {
    const id = requestId();
    response.setHeader("x-request-id", id);
    for (const [name, value] of Object.entries(BASE_HEADERS)) response.setHeader(name, value);
    if (tls) response.setHeader("strict-transport-security", "max-age=31536000");
    let url: URL;
    try {
      url = new URL(request.url ?? "/", "http://hexclave.invalid");
    } catch {
      return plain(response, 400, "bad request: the path is not a URL path\n");
    }
    const path = url.pathname;
    const candidates =
      exact.get(path) ?? prefixes.filter((r) => path.startsWith(r.path)).slice(0, 1);
    if (candidates.length === 0) return plain(response, 404, "not found\n");
    const method = request.method === "HEAD" ? "GET" : request.method;
    const route = candidates.find((r) => r.method === method);
    if (route === undefined) {
      response.setHeader("allow", [...new Set(candidates.map((r) => r.method))].join(", "));
      return plain(response, 405, `method ${request.method ?? ""} not allowed here\n`);
    }
    const context: HttpContext = { requestId: id, path, query: url.searchParams };
    Promise.resolve()
      .then(() => route.handle(request, response, context))
      .catch((err: unknown) => {
        log.error({ err, requestId: id, path: route.path }, "HTTP handler failed");
        if (response.headersSent) response.destroy();
        else plain(response, 500, `internal error (request id ${id})\n`);
      });
  };
}

/**
 * Sends a short plain-text answer.
 *
 * @example
 * plain(response, 404, "not found\n");
 */
export function plain(response: ServerResponse, status: number, text: string): void {
  response.statusCode = status;
  response.setHeader("content-type", "text/plain; charset=utf-8");
  response.end(text);
}

/**
 * Sends a JSON answer.
 *
 * @example
 * json(response, 503, { status: "starting" });
 */
export function json(response: ServerResponse, status: number, body: unknown): void {
  response.statusCode = status;
  response.setHeader("content-type", "application/json; charset=utf-8");
  response.end(`${JSON.stringify(body)}\n`);
}
