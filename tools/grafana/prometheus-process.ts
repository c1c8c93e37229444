import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { freePort } from "../../bench/free-port.js";

/** One series of an instant query: its labels and its value. */
export interface InstantSeries {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

/** One series of a range query: its labels and its [unix seconds, value] points. */
export interface RangeSeries {
  readonly metric: Record<string, string>;
  readonly values: [number, string][];
}

/** A rule as Prometheus's /api/v1/rules reports it after evaluating it. */
export interface LoadedRule {
  readonly name: string;
  readonly query: string;
  readonly type: "alerting" | "recording";
  readonly health: "ok" | "err" | "unknown";
  readonly lastError?: string;
  /** Alerting rules: inactive, pending or firing. */
  readonly state?: string;
}

/** A running Prometheus and the parts of its HTTP API the tools use. */
export interface PrometheusProcess {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** /api/v1/query. @throws PromQLError if Prometheus refuses the expression. */
  query(expr: string, time?: number): Promise<InstantSeries[]>;
  /** /api/v1/query_range over [start, end] (unix seconds). @throws PromQLError as query. */
  queryRange(expr: string, start: number, end: number, stepSeconds: number): Promise<RangeSeries[]>;
  /** /api/v1/label/<label>/values, for series matching `match` (Grafana's label_values()). */
  labelValues(label: string, match: string): Promise<string[]>;
  /** /api/v1/rules: every rule loaded, with its health after its last evaluation. */
  rules(): Promise<LoadedRule[]>;
  /** Stops it (SIGTERM) and deletes its storage. */
  stop(): Promise<void>;
}

/** Prometheus refused a query; `message` is its own error text. */
export class PromQLError extends Error {
  override readonly name = "PromQLError";
}

/** What to start Prometheus with. */
export interface PrometheusOptions {
  /** `host:port` targets scraped as job "hexclave". */
  readonly targets: readonly string[];
  /** Rule files to load (absolute paths); evaluated every scrape interval. */
  readonly ruleFiles?: readonly string[];
  /** Scrape and rule-evaluation interval. Default 1 s: data within seconds, for tests. */
  readonly intervalSeconds?: number;
}

/**
 * The prometheus binary on PATH (Debian: `apt-get install prometheus`), or
 * undefined if there is none.
 *
 * @example
 * if (prometheusBinary() === undefined) console.warn("no prometheus");
 */
export function prometheusBinary(): string | undefined {
  return which("prometheus");
}

/** The promtool binary that comes with Prometheus, or undefined. */
export function promtoolBinary(): string | undefined {
  return which("promtool");
}

function which(name: string): string | undefined {
  try {
    return (
      execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim() || undefined
    );
  } catch {
    return undefined;
  }
}

/**
 * Starts a real Prometheus on a free loopback port with a temporary
 * configuration and storage directory, scraping `targets` as job
 * "hexclave", and resolves once it says it is ready for web requests.
 *
 * @throws Error with its output if it exits before it is ready.
 * @example
 * const prometheus = await startPrometheus({ targets: ["127.0.0.1:9090"] });
 * await prometheus.query("up");
 * await prometheus.stop();
 */
export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusProcess> {
  const binary = prometheusBinary();
  if (binary === undefined)
    throw new Error("prometheus is not installed (apt-get install prometheus)");
  const dir = await mkdtemp(join(tmpdir(), "hexclave-prometheus-"));
  const interval = `${options.intervalSeconds ?? 1}s`;
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    rule_files: options.ruleFiles ?? [],
    scrape_configs: [{ job_name: "hexclave", static_configs: [{ targets: options.targets }] }],
  };
  // JSON is YAML: no YAML library needed.
  await writeFile(join(dir, "prometheus.yml"), JSON.stringify(config, null, 2));
  const port = await freePort();
  const child = spawn(
    binary,
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=info",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    await ready(child, exited);
  } catch (error) {
    child.kill("SIGKILL");
    await exited;
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    async query(expr, time) {
      const params = new URLSearchParams({ query: expr });
      if (time !== undefined) params.set("time", String(time));
      return (await api(url, "/api/v1/query", params, expr)).result as InstantSeries[];
    },
    async queryRange(expr, start, end, stepSeconds) {
      const params = new URLSearchParams({
        query: expr,
        start: String(start),
        end: String(end),
        step: String(stepSeconds),
      });
      return (await api(url, "/api/v1/query_range", params, expr)).result as RangeSeries[];
    },
    async labelValues(label, match) {
      const params = new URLSearchParams({ "match[]": match });
      const data = await api(
        url,
        `/api/v1/label/${encodeURIComponent(label)}/values`,
        params,
        match,
      );
      return data as unknown as string[];
    },
    async rules() {
      const data = await api(url, "/api/v1/rules", new URLSearchParams(), "rules");
      const groups = data.groups as { rules: LoadedRule[] }[];
      return groups.flatMap((group) => group.rules);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function api(
  url: string,
  path: string,
  params: URLSearchParams,
  what: string,
): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}${path}?${params}`);
  const body = (await response.json()) as {
    status: string;
    data?: Record<string, unknown>;
    error?: string;
    errorType?: string;
  };
  if (body.status !== "success" || body.data === undefined) {
    throw new PromQLError(
      `${body.errorType ?? response.status}: ${body.error ?? "?"} (in ${what})`,
    );
  }
  return body.data;
}

/** Resolves when Prometheus logs that it serves its web API; rejects if it exits first. */
function ready(child: ChildProcess, exited: Promise<void>): Promise<void> {
  let output = "";
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stderr as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      if (output.length < 20_000) output += `${line}\n`;
      if (line.includes("Server is ready to receive web requests")) resolve();
    });
    void exited.then(() => reject(new Error(`prometheus exited before it was ready:\n${output}`)));
  });
}
