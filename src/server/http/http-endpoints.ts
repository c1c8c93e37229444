import type { Logger } from "pino";
import { joinClusterMetrics } from "../metrics/cluster-metrics.js";
import type { ServerMetrics } from "../metrics/server-metrics.js";
import type { ServerTls } from "../tls-context.js";
import { type HttpListener, listenHttp } from "./http-listener.js";
import { type HttpRoute, routeHttp } from "./http-routes.js";
import { type ProbeSources, probeRoutes } from "./probe-routes.js";

/** What the HTTP listener serves. */
export interface HttpEndpointsOptions {
  readonly listen: string;
  readonly tls: ServerTls | undefined;
  readonly log: Logger;
  readonly requestId: () => string;
  readonly probes: ProbeSources;
  readonly metrics: ServerMetrics;
  /** This process is one of a `--workers` group: /metrics serves the whole group's. */
  readonly inGroup: boolean;
  /** More routes (the dashboard's). */
  readonly routes?: readonly HttpRoute[];
}

/**
 * Starts the HTTP listener (`--http-listen`) with its endpoints: /healthz,
 * /readyz, /metrics (Prometheus text format) and any routes given (the
 * dashboard's). docs/operations.md describes them.
 *
 * @throws Error naming the address if it cannot be bound.
 * @example
 * const http = await serveHttpEndpoints({ listen: "127.0.0.1:9090", tls, log, requestId, probes, metrics, inGroup: false });
 */
export async function serveHttpEndpoints(options: HttpEndpointsOptions): Promise<HttpListener> {
  const { registry } = options.metrics;
  const groupMetrics = options.inGroup ? joinClusterMetrics(registry) : undefined;
  const routes: HttpRoute[] = [
    ...probeRoutes(options.probes),
    {
      method: "GET",
      path: "/metrics",
      async handle(_request, response) {
        const text = groupMetrics === undefined ? await registry.metrics() : await groupMetrics();
        response.setHeader("content-type", registry.contentType);
        response.end(text);
      },
    },
    ...(options.routes ?? []),
  ];
  return listenHttp({
    listen: options.listen,
    tls: options.tls,
    handle: routeHttp(routes, options.log, options.requestId, options.tls !== undefined),
  });
}
