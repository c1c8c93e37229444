import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DataVaultStore, generateSecret, type ListedEntry } from "../../src/client/index.js";
import { type ClientFixture, startClientFixture } from "../client/support/client-fixture.js";
import { type CliResult, oneLine, runCli } from "./support/run-cli.js";

/**
 * `hexclave keys list`, `export` and `import`: your own entries only (those
 * sealed under your secret), opened locally; an export imported elsewhere
 * gives back the same values, kinds, write times and expiries, sealed under
 * the importer's secret; a malformed line imports nothing and is named by
 * number; existing entries are kept unless --overwrite.
 */

const secret = generateSecret();
const otherSecret = generateSecret();
const notUtf8 = new Uint8Array([0xff, 0x00, 0xfe, 0x0a]);
let f: ClientFixture;
let source: DataVaultStore;
let dir: string;

beforeAll(async () => {
  f = await startClientFixture();
  for (const id of ["source", "copy", "untouched", "other-secret"]) await f.createStore(id);
  const client = f.client();
  source = await client.getDataVaultStore("source");
  await source.setValue("gh:1", "ghr_text_value", { secret });
  await source.setValue("bytes", notUtf8, { secret });
  await source.setValue("utf8-bytes", new TextEncoder().encode("looks like text"), { secret });
  await source.setValue("unicode:é", "héllo ✓", { secret });
  await source.setValue("short-lived", "v", { secret, expiresIn: 3_600_000 });
  await source.setValue("old", "v", { secret, writtenAt: new Date("2024-05-01T00:00:00.000Z") });
  // Someone else's entry in the same store: not ours to list or export.
  await (await client.getDataVaultStore("source")).registerSecret({
    secret: otherSecret,
    knownSecret: secret,
  });
  await source.setValue("theirs", "not yours", { secret: otherSecret });
  dir = await mkdtemp(join(tmpdir(), "hexclave-export-"));
});
afterAll(async () => {
  await f.close();
  await rm(dir, { recursive: true, force: true });
});

const env = (extra: Record<string, string> = {}) => ({
  HEXCLAVE_ADDRESS: f.server.address,
  HEXCLAVE_TOKEN: f.server.adminToken,
  HEXCLAVE_SECRET: secret,
  ...extra,
});

function ok(result: CliResult): string {
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return result.stdout.toString();
}

async function all(
  store: DataVaultStore,
  s = secret,
): Promise<Map<string, ListedEntry<Uint8Array>>> {
  const found = new Map<string, ListedEntry<Uint8Array>>();
  for await (const e of store.entries({ secret: s, as: "bytes" })) found.set(e.key, e);
  return found;
}

const OURS = ["bytes", "gh:1", "old", "short-lived", "unicode:é", "utf8-bytes"];

describe("hexclave keys list", () => {
  it("prints our own key names, sorted, one per line, and not another secret's", async () => {
    expect(ok(await runCli(["keys", "list", "source"], { env: env() }))).toBe(
      `${OURS.join("\n")}\n`,
    );
    const listed = JSON.parse(
      ok(await runCli(["keys", "list", "source", "--json"], { env: env() })),
    );
    expect(listed.map((e: { key: string }) => e.key)).toEqual(OURS);
    expect(listed[0]).toEqual({
      key: "bytes",
      version: expect.any(Number),
      writtenAt: expect.any(String),
      expiresAt: null,
    });
  });
});

describe("hexclave export / import", () => {
  let exported: string;

  it("exports our entries as JSON Lines: text as value, bytes as valueBase64, times as ISO 8601", async () => {
    exported = ok(await runCli(["export", "source"], { env: env() }));
    const lines = exported
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const byKey = new Map(lines.map((l) => [l.key as string, l]));
    expect([...byKey.keys()].sort()).toEqual(OURS);
    const entries = await all(source);
    expect(byKey.get("gh:1")).toEqual({
      key: "gh:1",
      value: "ghr_text_value",
      writtenAt: entries.get("gh:1")?.writtenAt.toISOString(),
      expiresAt: null,
    });
    expect(byKey.get("bytes")?.valueBase64).toBe(Buffer.from(notUtf8).toString("base64"));
    expect(byKey.get("utf8-bytes")?.valueBase64).toBe(
      Buffer.from("looks like text").toString("base64"),
    );
    expect(byKey.get("old")?.writtenAt).toBe("2024-05-01T00:00:00.000Z");
    expect(byKey.get("short-lived")?.expiresAt).toBe(
      entries.get("short-lived")?.expiresAt?.toISOString(),
    );
  });

  it("imports into another store under the importer's secret, keeping kinds, times and expiries", async () => {
    const importer = generateSecret();
    const file = join(dir, "export.jsonl");
    await writeFile(file, exported);
    const summary = JSON.parse(
      ok(
        await runCli(["import", "copy", file, "--json"], {
          env: env({ HEXCLAVE_SECRET: importer }),
        }),
      ),
    );
    expect(summary).toEqual({ store: "copy", lines: 6, imported: 6, existed: 0, expired: 0 });
    const copy = await f.client().getDataVaultStore("copy");
    const [from, to] = [await all(source), await all(copy, importer)];
    expect([...to.keys()].sort()).toEqual(OURS);
    for (const [key, original] of from) {
      if (key === "theirs") continue;
      const copied = to.get(key) as ListedEntry<Uint8Array>;
      expect(Buffer.from(copied.value).equals(Buffer.from(original.value))).toBe(true);
      expect(copied.storedAs).toBe(original.storedAs);
      expect(copied.writtenAt).toEqual(original.writtenAt);
      expect(copied.expiresAt).toEqual(original.expiresAt);
    }
    // Sealed under the importer's secret: the exporter's does not open them.
    await expect(copy.getValue("gh:1", { secret })).rejects.toMatchObject({
      code: "UNKNOWN_SECRET",
    });

    // Again, from stdin: everything exists, nothing changes; --overwrite writes again.
    const versions = [...to.values()].map((e) => e.version).sort();
    const again = JSON.parse(
      ok(
        await runCli(["import", "copy", "--json"], {
          env: env({ HEXCLAVE_SECRET: importer }),
          input: exported,
        }),
      ),
    );
    expect(again).toMatchObject({ imported: 0, existed: 6 });
    expect([...(await all(copy, importer)).values()].map((e) => e.version).sort()).toEqual(
      versions,
    );
    const overwritten = JSON.parse(
      ok(
        await runCli(["import", "copy", file, "--overwrite", "--json"], {
          env: env({ HEXCLAVE_SECRET: importer }),
        }),
      ),
    );
    expect(overwritten).toMatchObject({ imported: 6, existed: 0 });
  });

  it("refuses a file with malformed lines, naming each by number, and imports nothing", async () => {
    const good = (key: string) =>
      JSON.stringify({
        key,
        value: "fine",
        writtenAt: "2026-01-01T00:00:00.000Z",
        expiresAt: null,
      });
    const lines = [
      good("a"),
      "{not json, secret-looking-value",
      JSON.stringify({ key: "b", value: "x", valueBase64: "eA==" }),
      JSON.stringify({ key: "c", valueBase64: "not base64!" }),
      JSON.stringify({ key: "d", value: "x", writenAt: "2026-01-01T00:00:00.000Z" }),
      JSON.stringify({ key: "e", value: "x", expiresAt: "tomorrow" }),
      "",
      good("a"),
      JSON.stringify({ key: "", value: "x" }),
      "[1, 2]",
    ];
    const line = oneLine(
      await runCli(["import", "untouched"], { env: env(), input: lines.join("\n") }),
    );
    expect(line).toBe(
      "hexclave: INVALID_ARGUMENT: 8 malformed lines, nothing imported: " +
        "line 2: not valid JSON; " +
        'line 3: give exactly one of "value" (text) and "valueBase64" (bytes); ' +
        'line 4: "valueBase64" must be standard base64; ' +
        'line 5: unknown field "writenAt" (expected key, value or valueBase64, writtenAt, expiresAt); ' +
        'line 6: "expiresAt" must be a time such as "2026-01-31T12:00:00.000Z", or null; ' +
        "line 8: the same key as line 1; " +
        'line 9: "key" must be a non-empty string; ' +
        "line 10: expected a JSON object",
    );
    expect(line).not.toContain("secret-looking-value");
    expect((await all(await f.client().getDataVaultStore("untouched"))).size).toBe(0);
  });

  it("skips entries that have expired, and shows progress when asked", async () => {
    const lines = [
      JSON.stringify({ key: "gone", value: "x", expiresAt: "2020-01-01T00:00:00.000Z" }),
      JSON.stringify({ key: "kept", value: "y" }),
    ].join("\n");
    const r = await runCli(["import", "other-secret", "--progress"], { env: env(), input: lines });
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe(
      'imported 1 of 2 entries into store "other-secret"\n1 had expired and were skipped\n',
    );
    expect(r.stderr).toMatch(/^\d\/2 entries imported \(\d+\/s/);
  });
});
