import { status } from "@grpc/grpc-js";
import { assertStoreId } from "../../../vault/assertions.js";
import type { ChainedAuditRecord } from "../../../vault/audit-chain.js";
import { requireAdmin } from "../../../vault/caller.js";
import type { AuditQuery } from "../../../vault/storage-port.js";
import { VaultError } from "../../../vault/vault-error.js";
import { HEXCLAVE_METHOD_PATHS } from "../../grpc-server.js";
import { activitySeries } from "../activity-history.js";
import { activityCharts } from "../charts.js";
import { DASHBOARD_METHODS } from "../dashboard-audit.js";
import {
  type DashboardPage,
  fieldOf,
  messageOf,
  type PageDeps,
  statusOf,
} from "../dashboard-page.js";
import { formatTime } from "../format.js";
import { type Html, html } from "../html.js";
import { field, fieldError } from "../layout.js";

const PATH = "/dashboard/activity";
const CHARTS_PATH = `${PATH}/charts`;
/** Records shown at most: the newest that match. */
const AUDIT_LIMIT = 200;

/** Time windows offered by the filter. */
const WINDOWS: readonly (readonly [string, string, number | undefined])[] = [
  ["15m", "Last 15 minutes", 15 * 60_000],
  ["1h", "Last hour", 3_600_000],
  ["24h", "Last 24 hours", 86_400_000],
  ["7d", "Last 7 days", 7 * 86_400_000],
  ["30d", "Last 30 days", 30 * 86_400_000],
  ["all", "Any time", undefined],
];

/** Every method the audit log may name, for the method filter. */
const METHODS: readonly string[] = [
  ...[...HEXCLAVE_METHOD_PATHS].sort(),
  ...Object.values(DASHBOARD_METHODS),
];

/** Status codes by name, for the result filter. */
const CODES: readonly (readonly [number, string])[] = Object.entries(status)
  .filter((e): e is [string, number] => typeof e[1] === "number")
  .map(([name, code]) => [code, name] as const)
  .sort((a, b) => a[0] - b[0]);

/** The filters as given, and what was wrong with them. */
interface Filters {
  readonly store: string;
  readonly token: string;
  readonly method: string;
  readonly result: string;
  readonly window: string;
}

/**
 * Activity: calls per second, errors and p99 latency over the last 15
 * minutes from the server's own metrics (its whole `--workers` group), and
 * the audit log with filters. Reading the log is itself recorded.
 */
export const activityPage: DashboardPage = {
  path: PATH,
  get: {
    method: DASHBOARD_METHODS.listAudit,
    async run(deps, context) {
      const filters: Filters = {
        store: context.query.get("store") ?? "",
        token: context.query.get("token") ?? "",
        method: context.query.get("method") ?? "",
        result: context.query.get("result") ?? "",
        window: context.query.get("window") ?? "24h",
      };
      let records: ChainedAuditRecord[] = [];
      const errors: Record<string, string> = {};
      try {
        const query = auditQuery(filters, Date.now());
        records = await deps.audit.read(
          context.facts,
          DASHBOARD_METHODS.listAudit,
          query.storeId ?? null,
          async () => {
            requireAdmin(context.session.caller);
            return deps.reads().listAudit(query);
          },
        );
      } catch (error) {
        const key = fieldOf(error);
        if (statusOf(error) !== 400 || key === undefined) throw error;
        errors[key] = messageOf(error, context.facts.requestId);
      }
      const content = html`<h1>Activity</h1>
<p class="lede">${deps.server.inGroup ? "Every worker of this server's group" : "This server"}, from its own metrics; every 5 seconds.</p>
<div id="charts" data-refresh="${CHARTS_PATH}">${await charts(deps)}</div>
<section aria-labelledby="audit-heading">
<h2 id="audit-heading">Audit log</h2>
${filterForm(filters, errors)}
${auditTable(records, deps.server.audit)}
</section>`;
      return {
        kind: "page",
        status: Object.keys(errors).length === 0 ? 200 : 400,
        title: "Activity",
        content,
      };
    },
  },
};

/** The charts alone, fetched by the page's script every 5 seconds (no audit record: no data is read). */
export const activityChartsFragment: DashboardPage = {
  path: CHARTS_PATH,
  get: {
    method: undefined,
    async run(deps) {
      return { kind: "fragment", content: html`<div data-fragment>${await charts(deps)}</div>` };
    },
  },
};

async function charts(deps: PageDeps): Promise<Html> {
  const records = await deps.activity().catch((error: unknown) => {
    deps.log.warn({ err: error }, "the dashboard could not gather the group's activity");
    return [];
  });
  return activityCharts(activitySeries(records, Date.now()));
}

function auditQuery(filters: Filters, now: number): AuditQuery {
  const store = filters.store.trim();
  const token = filters.token.trim();
  if (token !== "" && !/^([0-9a-f]{16}|bootstrap)$/.test(token)) {
    throw invalid(
      "token",
      `"token" must be a token id: 16 hex characters (see the Tokens page), got ${JSON.stringify(token.slice(0, 40))}`,
    );
  }
  if (filters.method !== "" && !METHODS.includes(filters.method)) {
    throw invalid(
      "method",
      `"method" must be one of the methods listed, got ${JSON.stringify(filters.method.slice(0, 80))}`,
    );
  }
  const code = filters.result === "" ? undefined : Number(filters.result);
  if (code !== undefined && !CODES.some(([c]) => c === code)) {
    throw invalid(
      "result",
      `"result" must be a gRPC status code from 0 to 16, got ${JSON.stringify(filters.result.slice(0, 20))}`,
    );
  }
  const window = WINDOWS.find(([key]) => key === filters.window);
  if (window === undefined) {
    throw invalid(
      "window",
      `"window" must be one of ${WINDOWS.map(([k]) => k).join(", ")}, got ${JSON.stringify(filters.window.slice(0, 20))}`,
    );
  }
  return {
    storeId: store === "" ? undefined : assertStoreId(store, "store"),
    tokenId: token === "" ? undefined : token,
    method: filters.method === "" ? undefined : filters.method,
    code,
    since: window[2] === undefined ? undefined : now - window[2],
    limit: AUDIT_LIMIT,
  };
}

function invalid(field: string, message: string): VaultError {
  return new VaultError("INVALID_ARGUMENT", message, { metadata: { field } });
}

function filterForm(filters: Filters, errors: Readonly<Record<string, string>>): Html {
  const select = (
    id: string,
    name: keyof Filters,
    label: string,
    options: readonly (readonly [string, string])[],
  ) => html`<div class="field">
<label for="${id}">${label}</label>
<select id="${id}" name="${name}"${errors[name] === undefined ? "" : html` aria-invalid="true" aria-describedby="${id}-error"`}>
${options.map(([value, text]) => html`<option value="${value}"${value === filters[name] ? html` selected` : ""}>${text}</option>`)}
</select>
${fieldError(id, errors[name])}
</div>`;
  return html`<form method="get" action="${PATH}" class="card" novalidate>
<div class="filters">
${field({ id: "filter-store", name: "store", label: "Store", value: filters.store, autocomplete: "off", error: errors.store ?? errors.store_id })}
${field({ id: "filter-token", name: "token", label: "Token id", value: filters.token, autocomplete: "off", error: errors.token })}
${select("filter-method", "method", "Method", [["", "Any method"], ...METHODS.map((m) => [m, shortMethod(m)] as const)])}
${select("filter-result", "result", "Result", [["", "Any result"], ...CODES.map(([c, n]) => [String(c), `${c} ${n}`] as const)])}
${select(
  "filter-window",
  "window",
  "Time",
  WINDOWS.map(([k, text]) => [k, text] as const),
)}
</div>
<button type="submit">Show</button>
</form>`;
}

function auditTable(records: readonly ChainedAuditRecord[], on: boolean): Html {
  if (!on)
    return html`<p class="notice bad">The audit log is off on this server (<code>--audit off</code>): calls are not recorded.</p>`;
  if (records.length === 0) return html`<p class="hint">No records match.</p>`;
  const newest = [...records].reverse();
  return html`<p class="hint">The newest ${newest.length} records that match, newest first.</p>
<div class="scroll" tabindex="0" role="region" aria-label="Audit records">
<table>
<thead><tr><th scope="col">Time</th><th scope="col">Method</th><th scope="col">Store</th><th scope="col">Token</th><th scope="col">Result</th><th scope="col">From</th><th scope="col">Request</th></tr></thead>
<tbody>${newest.map(
    (r) => html`<tr>
<td>${formatTime(r.at)}</td>
<td>${shortMethod(r.method)}</td>
<td class="mono">${r.storeId ?? ""}</td>
<td class="mono">${r.tokenId ?? ""}</td>
<td>${r.code === 0 ? html`<span class="badge ok">OK</span>` : html`<span class="badge bad">${status[r.code] ?? r.code} ${r.reason}</span>`}</td>
<td class="mono">${r.peer}</td>
<td class="mono">${r.requestId}</td>
</tr>`,
  )}</tbody>
</table></div>`;
}

/** "/hexclave.v1.AdminService/CreateStore" → "AdminService/CreateStore". */
function shortMethod(path: string): string {
  return path.replace(/^\/hexclave\.(v1|dashboard)\./, "");
}
