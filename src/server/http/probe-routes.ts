import { HealthCheckResponse_ServingStatus as Serving } from "../../../gen/grpc/health/v1/health.js";
import type { StorageCondition } from "../../vault/storage-port.js";
import type { HealthState } from "../health-service.js";
import { WRITES_HEALTH } from "../storage-health.js";
import { type HttpRoute, json } from "./http-routes.js";

/** What the probes look at. */
export interface ProbeSources {
  readonly health: HealthState;
  /** The database's condition; undefined until it is open. */
  readonly condition: () => StorageCondition | undefined;
  /** False once the server can no longer recover without a restart (its writer died). */
  readonly recoverable: () => boolean;
}

/**
 * `/healthz` (live) and `/readyz` (ready), for platforms that probe over
 * HTTP. Live: the process answers and can still recover by itself — a
 * failing liveness probe gets the container restarted, so it fails only when
 * a restart is the cure (the writer thread died). A database outage, a full
 * disk or a damaged file are not: a restart would not fix them, and a
 * running server keeps saying why. Ready: the server takes calls — the
 * database is open and reachable and it is not shutting down. A full disk
 * keeps it ready (reads are served) and says so in the body.
 *
 * @example
 * routes.push(...probeRoutes({ health, condition: () => storage?.condition, recoverable: () => true }));
 */
export function probeRoutes(sources: ProbeSources): HttpRoute[] {
  return [
    {
      method: "GET",
      path: "/healthz",
      handle(_request, response) {
        const live = sources.recoverable();
        json(response, live ? 200 : 503, {
          status: live ? "live" : "needs a restart: the writer stopped",
        });
      },
    },
    {
      method: "GET",
      path: "/readyz",
      handle(_request, response) {
        const condition = sources.condition();
        const serving = sources.health.get("") === Serving.SERVING;
        const writes = sources.health.get(WRITES_HEALTH) === Serving.SERVING;
        json(response, serving ? 200 : 503, {
          status: serving ? "ready" : notReady(condition),
          database: condition ?? "opening",
          writes: writes ? "serving" : "refused",
        });
      },
    },
  ];
}

function notReady(condition: StorageCondition | undefined): string {
  switch (condition) {
    case undefined:
      return "starting: opening the database";
    case "ok":
      return "not serving (starting or shutting down)";
    case "unavailable":
      return "the database is unreachable";
    case "corrupted":
      return "the database is damaged: see the server log";
    default:
      return `the database is ${condition}`;
  }
}
