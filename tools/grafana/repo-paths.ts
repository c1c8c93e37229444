import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The checkout's root: the nearest folder above this file whose package.json
 * is Hexclave's. Found by walking up, so it is the same whether this runs
 * from source (vitest) or built (dist/tools/grafana, `npm run
 * ops:picture`).
 */
function findRoot(start: string): string {
  for (let dir = start; dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, "utf8")).name === "hexclave") {
      return dir;
    }
  }
  throw new Error(`no Hexclave package.json above ${start}`);
}

/** Where the files the dashboard tools read and write live. */
export const REPO_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
/** The built CLI (`npm run build`): the server runs as `hexclave serve`, as in production. */
export const CLI_PATH = join(REPO_ROOT, "dist", "src", "cli", "main.js");
/** The Grafana dashboard, as an operator imports it. */
export const DASHBOARD_JSON = join(REPO_ROOT, "docs", "grafana", "hexclave-dashboard.json");
/** The Prometheus alerting rules, as an operator loads them. */
export const ALERT_RULES = join(REPO_ROOT, "docs", "alerts", "hexclave-alerts.yml");
/** The picture of the dashboard the renderer writes. */
export const DASHBOARD_PICTURE = join(REPO_ROOT, "docs", "images", "hexclave-dashboard.png");
