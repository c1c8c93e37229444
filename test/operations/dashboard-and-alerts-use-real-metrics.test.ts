import { execFileSync } from "node:child_process";
import { get } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAlertRules } from "../../tools/grafana/alert-rules.js";
import {
  type Dashboard,
  interpolate,
  labelValuesQuery,
  loadDashboard,
  queryPanels,
} from "../../tools/grafana/dashboard-model.js";
import { startMixedLoad } from "../../tools/grafana/mixed-load.js";
import {
  type PrometheusProcess,
  prometheusBinary,
  promtoolBinary,
  startPrometheus,
} from "../../tools/grafana/prometheus-process.js";
import { seriesNames } from "../../tools/grafana/promql-names.js";
import { ALERT_RULES, DASHBOARD_JSON } from "../../tools/grafana/repo-paths.js";
import { isRequired } from "../support/required-programs.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

/** In CI (CI=1 or HEXCLAVE_REQUIRE_PROMETHEUS=1) the Prometheus suites run, and fail without it. */
const PROMETHEUS_REQUIRED = isRequired("HEXCLAVE_REQUIRE_PROMETHEUS");

/**
 * The Grafana dashboard (docs/grafana/hexclave-dashboard.json) and the
 * alerting rules (docs/alerts/hexclave-alerts.yml) against a real server:
 * the threat is a dashboard or an alert that silently shows nothing because
 * it names a metric the server does not export (a rename, a typo), or a
 * rule Prometheus cannot load. promtool checks the rules; a real Prometheus
 * scrapes a real server under a mixed load and runs every panel's query.
 */

/** Grafana's reference to the dashboard's data source variable, as its JSON holds it. */
const DATASOURCE_UID = ["$", "{datasource}"].join("");
/** Series Prometheus makes itself for every scrape target, not the server. */
const PROMETHEUS_OWN = new Set(["up"]);
/** Queries (panel title and refId) of series that exist only on PostgreSQL: empty on SQLite. */
const POSTGRES_ONLY = ["PostgreSQL pool A"];

function scrapeText(httpAddress: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(`http://${httpAddress}/metrics`, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });
}

/**
 * Every series name a /metrics answer declares or holds: each `# TYPE` line's
 * family (with _bucket, _sum and _count for histograms and summaries; a
 * labelled family has no sample until its first observation) and every sample.
 */
function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    const declared = /^# TYPE (\S+) (\w+)$/.exec(line);
    if (declared !== null) {
      const [, name, type] = declared as unknown as [string, string, string];
      names.add(name);
      if (type === "histogram") names.add(`${name}_bucket`);
      if (type === "histogram" || type === "summary") {
        names.add(`${name}_sum`);
        names.add(`${name}_count`);
      }
      continue;
    }
    const sampled = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line)?.[1];
    if (sampled !== undefined) names.add(sampled);
  }
  return names;
}

/** Every PromQL expression of the dashboard: panels, variables, annotations. */
function dashboardQueries(dashboard: Dashboard): { where: string; expr: string }[] {
  const queries = queryPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({
      where: `panel "${panel.title}" ${target.refId}`,
      expr: target.expr,
    })),
  );
  for (const variable of dashboard.templating.list) {
    if (variable.type === "query") {
      queries.push({ where: `variable ${variable.name}`, expr: labelValuesQuery(variable).match });
    }
  }
  const annotations = (dashboard as { annotations?: { list?: { name: string; expr?: string }[] } })
    .annotations?.list;
  for (const annotation of annotations ?? []) {
    if (annotation.expr !== undefined) {
      queries.push({ where: `annotation ${annotation.name}`, expr: annotation.expr });
    }
  }
  return queries;
}

let t: TestServer;
let http: string;
let dashboard: Dashboard;

beforeAll(async () => {
  t = await startTestServer({ httpListen: "127.0.0.1:0" });
  http = t.server.httpAddress as string;
  dashboard = await loadDashboard(DASHBOARD_JSON);
});
afterAll(() => t?.close());

describe("the dashboard and the alerts name only what the server exports", () => {
  it("finds names the way PromQL reads them (and so would catch a typo)", () => {
    expect(
      seriesNames(
        'sum by (le, method) (rate(a_bucket{job=~"$job",code!="b_c"}[$__rate_interval])) / on (instance) b_total offset 5m > 0.5',
      ).sort(),
    ).toEqual(["a_bucket", "b_total"]);
    expect(seriesNames("histogram_quantile(0.99, hexclave_cals_total)")).toEqual([
      "hexclave_cals_total",
    ]);
  });

  it("every metric in the dashboard and the alerts is one /metrics serves", async () => {
    const exposed = exposedNames(await scrapeText(http));
    expect(exposed.has("hexclave_calls_total")).toBe(true);
    const queries = [
      ...dashboardQueries(dashboard),
      ...(await readAlertRules(ALERT_RULES)).map((r) => ({ where: r.alert, expr: r.expr })),
    ];
    expect(queries.length).toBeGreaterThan(30);
    const unknown = queries.flatMap(({ where, expr }) =>
      seriesNames(expr)
        .filter((name) => !exposed.has(name) && !PROMETHEUS_OWN.has(name))
        .map((name) => `${where}: ${name}`),
    );
    expect(unknown).toEqual([]);
    for (const { where, expr } of queries)
      expect(seriesNames(expr).length, where).toBeGreaterThan(0);
  });

  it("every panel queries the dashboard's Prometheus data source variable", () => {
    const variable = dashboard.templating.list.find((v) => v.type === "datasource");
    expect(variable).toMatchObject({ name: "datasource", query: "prometheus" });
    for (const panel of queryPanels(dashboard)) {
      const source = (panel as { datasource?: { type: string; uid: string } }).datasource;
      expect(source, panel.title).toEqual({ type: "prometheus", uid: DATASOURCE_UID });
    }
  });
});

describe.skipIf(!PROMETHEUS_REQUIRED && promtoolBinary() === undefined)("promtool", () => {
  it("checks the alerting rules file, and finds every rule the test reads", async () => {
    const output = execFileSync(promtoolBinary() as string, ["check", "rules", ALERT_RULES], {
      encoding: "utf8",
    });
    const found = Number(/SUCCESS: (\d+) rules found/.exec(output)?.[1]);
    expect(found).toBe((await readAlertRules(ALERT_RULES)).length);
    expect(found).toBeGreaterThanOrEqual(8);
  });
});
if (promtoolBinary() === undefined) {
  console.warn("promtool is not installed (apt-get install prometheus): rules file not checked");
}

describe.skipIf(!PROMETHEUS_REQUIRED && prometheusBinary() === undefined)(
  "a real Prometheus scraping the server",
  () => {
    let prometheus: PrometheusProcess;
    let start: number;
    beforeAll(async () => {
      prometheus = await startPrometheus({ targets: [http], ruleFiles: [ALERT_RULES] });
      start = Math.floor(Date.now() / 1000);
      const load = await startMixedLoad(t.address, t.adminToken, [
        { seconds: 8, concurrency: 4, writes: 0.25, refused: 0.05, pauseMs: 2 },
      ]);
      const stats = await load.done;
      expect(stats.ok).toBeGreaterThan(100);
      expect(stats.refused).toBeGreaterThan(0);
      expect(stats.failed).toBe(0);
      // A scrape more than a second after the load ended, so the last rates cover all of it.
      const loadEnd = Date.now() / 1000;
      await untilTrue(async () => {
        const last = await prometheus.query("timestamp(hexclave_calls_in_flight)");
        return Number(last[0]?.value[1] ?? 0) > loadEnd + 1;
      });
    }, 60_000);
    afterAll(() => prometheus?.stop());

    it("fills the variables with the job and the instance", async () => {
      for (const [name, expected] of [
        ["job", "hexclave"],
        ["instance", http],
      ] as const) {
        const variable = dashboard.templating.list.find((v) => v.name === name);
        const { match, label } = labelValuesQuery(
          variable as (typeof dashboard.templating.list)[0],
        );
        const values = await prometheus.labelValues(
          label,
          interpolate(match, { variables: { job: "hexclave" }, stepSeconds: 1, scrapeSeconds: 1 }),
        );
        expect(values).toEqual([expected]);
      }
    });

    it("every panel's query runs and shows data (the PostgreSQL pool's only on PostgreSQL)", async () => {
      const end = Math.ceil(Date.now() / 1000);
      const empty: string[] = [];
      for (const panel of queryPanels(dashboard)) {
        for (const target of panel.targets ?? []) {
          const expr = interpolate(target.expr, {
            variables: { job: "hexclave", instance: http },
            stepSeconds: 1,
            scrapeSeconds: 1,
          });
          const series = await prometheus.queryRange(expr, start, end, 1);
          const numbers = series.flatMap((s) => s.values.map(([, v]) => Number(v)));
          if (!numbers.some(Number.isFinite)) empty.push(`${panel.title} ${target.refId}`);
        }
      }
      expect(empty).toEqual(POSTGRES_ONLY);
    });

    it("loads every alerting rule, evaluates it without error, and none fires on a healthy server", async () => {
      const rules = await untilValue(async () => {
        const loaded = await prometheus.rules();
        return loaded.every((r) => r.health !== "unknown") ? loaded : undefined;
      });
      expect(rules.map((r) => r.name).sort()).toEqual(
        (await readAlertRules(ALERT_RULES)).map((r) => r.alert).sort(),
      );
      for (const rule of rules) {
        expect(rule.health, `${rule.name}: ${rule.lastError ?? ""}`).toBe("ok");
        expect(rule.state, rule.name).toBe("inactive");
      }
    });
  },
);

async function untilTrue(check: () => Promise<boolean>): Promise<void> {
  await untilValue(async () => ((await check()) ? true : undefined));
}

/** Asks again every 200 ms until `check` gives a value; the test's timeout bounds it. */
async function untilValue<T>(check: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
