import { execFileSync } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { chromium } from "playwright-core";
import { dashboardHtml } from "./dashboard-html.js";
import { loadDashboard } from "./dashboard-model.js";
import { startHexclave } from "./hexclave-process.js";
import { type LoadPhase, startMixedLoad } from "./mixed-load.js";
import { queryDashboard } from "./panel-data.js";
import { startPrometheus } from "./prometheus-process.js";
import { DASHBOARD_JSON, DASHBOARD_PICTURE } from "./repo-paths.js";

/**
 * `npm run ops:picture [-- --seconds N]`: draws docs/images/hexclave-dashboard.png
 * from real data — a built `hexclave serve` under a mixed load in phases,
 * scraped every second by a temporary Prometheus, every panel's query run
 * over the load's window, drawn in the dashboard's grid and screenshot by
 * headless Chromium (CHROMIUM_PATH, or `chromium` on the PATH).
 */

const SCRAPE_SECONDS = 1;
const STEP_SECONDS = 2;
const PAGE_WIDTH = 1600;

/** Quiet, a busy peak, a write-heavy stretch, a misbehaving client: shares of `total` seconds. */
function phases(total: number): LoadPhase[] {
  const part = (share: number) => Math.max(2, Math.round(total * share));
  return [
    { seconds: part(0.2), concurrency: 2, writes: 0.1, refused: 0.02, pauseMs: 8 },
    { seconds: part(0.3), concurrency: 8, writes: 0.2, refused: 0.03, pauseMs: 1 },
    { seconds: part(0.25), concurrency: 6, writes: 0.6, refused: 0.02, pauseMs: 1 },
    { seconds: part(0.25), concurrency: 3, writes: 0.15, refused: 0.25, pauseMs: 4 },
  ];
}

function chromiumPath(): string {
  const given = process.env.CHROMIUM_PATH;
  if (given !== undefined && given !== "") return given;
  try {
    return execFileSync("sh", ["-c", "command -v chromium || command -v chromium-browser"], {
      encoding: "utf8",
    }).trim();
  } catch {
    throw new Error("no chromium on the PATH: install it or set CHROMIUM_PATH");
  }
}

async function main(): Promise<void> {
  const index = process.argv.indexOf("--seconds");
  const total = index > 0 ? Number(process.argv[index + 1]) : 100;
  if (!(total >= 8))
    throw new Error(`--seconds must be at least 8, got ${process.argv[index + 1]}`);
  const browserPath = chromiumPath();
  const dashboard = await loadDashboard(DASHBOARD_JSON);
  const hexclave = await startHexclave();
  try {
    const prometheus = await startPrometheus({
      targets: [hexclave.httpAddress],
      intervalSeconds: SCRAPE_SECONDS,
    });
    try {
      const start = Math.floor(Date.now() / 1000);
      const load = await startMixedLoad(hexclave.address, hexclave.adminToken, phases(total));
      const stats = await load.done;
      // Two more scrapes, so the last points cover the end of the load.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const end = Math.floor(Date.now() / 1000);
      console.log(
        `load: ${total} s, ${stats.ok} calls served, ${stats.refused} refused as client mistakes, ${stats.failed} failed`,
      );
      const data = await queryDashboard(prometheus, dashboard, {
        start,
        end,
        stepSeconds: STEP_SECONDS,
        scrapeSeconds: SCRAPE_SECONDS,
        variables: { job: "hexclave", instance: ".+" },
      });
      const empty = data.filter((d) => d.series.length === 0).map((d) => d.panel.title);
      console.log(`panels: ${data.length}, without data: ${empty.join(", ") || "none"}`);
      const html = dashboardHtml(dashboard, data, {
        width: PAGE_WIDTH,
        caption: `Drawn from a real Prometheus scraping hexclave serve (SQLite) under a ${total} s mixed load through the client SDK — npm run ops:picture`,
      });
      await mkdir(dirname(DASHBOARD_PICTURE), { recursive: true });
      const browser = await chromium.launch({
        executablePath: browserPath,
        args: ["--no-sandbox"],
      });
      try {
        const page = await browser.newPage({ viewport: { width: PAGE_WIDTH, height: 900 } });
        await page.setContent(html);
        await page.screenshot({ path: DASHBOARD_PICTURE, fullPage: true });
      } finally {
        await browser.close();
      }
      console.log(`wrote ${DASHBOARD_PICTURE}`);
    } finally {
      await prometheus.stop();
    }
  } finally {
    await hexclave.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
