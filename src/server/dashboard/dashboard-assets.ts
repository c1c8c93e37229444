import { createHash } from "node:crypto";
import type { HttpRoute } from "../http/http-routes.js";
import { DASHBOARD_ICON } from "./assets/dashboard-icon.js";
import { DASHBOARD_SCRIPT } from "./assets/dashboard-script.js";
import { DASHBOARD_STYLE } from "./assets/dashboard-style.js";

/** One static file of the dashboard. */
export interface DashboardAsset {
  /** Its path, with a version that changes with its content (so it may be cached for good). */
  readonly href: string;
  readonly contentType: string;
  readonly body: Buffer;
}

const BASE = "/dashboard/assets";

function asset(name: string, contentType: string, text: string): DashboardAsset {
  const body = Buffer.from(text, "utf8");
  const version = createHash("sha256").update(body).digest("hex").slice(0, 12);
  return Object.freeze({ href: `${BASE}/${name}?v=${version}`, contentType, body });
}

/** Everything the pages load: bundled in the package, nothing fetched from elsewhere. */
export const DASHBOARD_ASSETS = Object.freeze({
  style: asset("dashboard.css", "text/css; charset=utf-8", DASHBOARD_STYLE),
  script: asset("dashboard.js", "text/javascript; charset=utf-8", DASHBOARD_SCRIPT),
  icon: asset("icon.svg", "image/svg+xml", DASHBOARD_ICON),
});

/**
 * Routes serving the assets: public (the sign-in page needs them), cached
 * for a year under their versioned address.
 *
 * @example
 * routes.push(...assetRoutes());
 */
export function assetRoutes(): HttpRoute[] {
  return Object.values(DASHBOARD_ASSETS).map((a) => {
    const [path, query] = a.href.split("?") as [string, string];
    const version = new URLSearchParams(query).get("v");
    return {
      method: "GET",
      path,
      handle(_request, response, context) {
        response.setHeader("content-type", a.contentType);
        response.setHeader(
          "cache-control",
          context.query.get("v") === version ? "public, max-age=31536000, immutable" : "no-cache",
        );
        response.end(a.body);
      },
    } satisfies HttpRoute;
  });
}
