import { HealthCheckResponse_ServingStatus as Serving } from "../../../../gen/grpc/health/v1/health.js";
import { serverVersion } from "../../server-version.js";
import { WRITES_HEALTH } from "../../storage-health.js";
import { DASHBOARD_METHODS } from "../dashboard-audit.js";
import type { DashboardPage, ServerFacts } from "../dashboard-page.js";
import { formatSpan, formatTime } from "../format.js";
import { type Html, html } from "../html.js";

/**
 * Health: whether the server serves, whether writes are taken, the
 * database's condition, the version, and how long this process has run —
 * what /readyz and hexclave_build_info say, for a person. Nothing from the
 * database: it reads the server's own state.
 */
export const healthPage: DashboardPage = {
  path: "/dashboard/health",
  get: {
    method: DASHBOARD_METHODS.health,
    async run(deps, context) {
      await deps.audit.read(context.facts, DASHBOARD_METHODS.health, null, async () => undefined);
      return { kind: "page", title: "Health", content: healthContent(deps.server, Date.now()) };
    },
  },
};

function healthContent(server: ServerFacts, now: number): Html {
  const serving = server.health.get("") === Serving.SERVING;
  const writes = server.health.get(WRITES_HEALTH) === Serving.SERVING;
  const condition = server.condition();
  const conditionOk = condition === "ok";
  return html`<h1>Health</h1>
<div class="cards">
<section class="card" aria-labelledby="serving-heading">
<h2 id="serving-heading">Serving</h2>
<dl class="facts">
<dt>Calls</dt><dd>${badge(serving, serving ? "serving" : "not serving")}</dd>
<dt>Writes</dt><dd>${badge(writes, writes ? "taken" : "refused")}</dd>
<dt>Database</dt><dd>${badge(conditionOk, condition ?? "opening")} ${server.storageKind === "sqlite" ? "SQLite" : "PostgreSQL"}</dd>
<dt>Audit log</dt><dd>${badge(server.audit, server.audit ? "on" : "off")}</dd>
<dt>TLS</dt><dd>${badge(server.tls, server.tls ? "on" : "off")}</dd>
</dl>
</section>
<section class="card" aria-labelledby="process-heading">
<h2 id="process-heading">This server</h2>
<dl class="facts">
<dt>Version</dt><dd>Hexclave ${serverVersion()} on Node.js ${process.version}</dd>
<dt>Up for</dt><dd>${formatSpan(now - server.startedAt)} (since ${formatTime(server.startedAt)})</dd>
<dt>gRPC address</dt><dd class="mono">${server.grpcAddress}</dd>
<dt>Server id</dt><dd class="mono" id="server-id">${server.serverId}</dd>
${server.inGroup ? html`<dt>Worker group</dt><dd class="mono">${server.groupId}</dd>` : ""}
<dt>Process</dt><dd class="mono">${process.pid}</dd>
</dl>
</section>
</div>`;
}

function badge(good: boolean, text: string): Html {
  return html`<span class="badge ${good ? "ok" : "bad"}">${text}</span>`;
}
