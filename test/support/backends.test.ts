import { existsSync, readdirSync } from "node:fs";
import { expect, it } from "vitest";
import { forEachBackend } from "./backends.js";
import { withClient } from "./postgres-databases.js";

const seen: string[] = [];

forEachBackend((backend) => {
  it("hands out fresh, empty storage that no other call gets", async () => {
    const [a, b] = await Promise.all([backend.fresh(), backend.fresh()]);
    expect(a.dataDir).not.toBe(b.dataDir);
    expect(readdirSync(a.dataDir)).toEqual([]);
    expect(a.env.HEXCLAVE_DATA_DIR).toBe(a.dataDir);
    expect(a.env.HEXCLAVE_DATABASE_URL).toBe(a.databaseUrl);
    if (backend.name === "sqlite") {
      expect([a.databaseUrl, b.databaseUrl]).toEqual([undefined, undefined]);
    } else {
      expect(a.databaseUrl).not.toBe(b.databaseUrl);
      const tables = await withClient(a.databaseUrl!, async (c) => {
        const { rows } = await c.query(
          "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'",
        );
        return rows[0].n;
      });
      expect(tables).toBe(0);
    }
    seen.push(a.dataDir, b.dataDir);
  });
});

it("removed every data directory after each backend's suite", () => {
  expect(seen.length).toBeGreaterThanOrEqual(2);
  expect(seen.filter(existsSync)).toEqual([]);
});
