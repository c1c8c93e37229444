import { describe, expect, it } from "vitest";
import {
  findLeaks,
  isServerFaultLine,
  scanServerOutput,
} from "../../bench/attack/leak-patterns.js";
import { checkKey, checkVersions, type WriteOp } from "../../bench/attack/write-history.js";

/**
 * Negative controls for the attack tools' judges: a checker that cannot see
 * a lost write or a leaked token would let the crash loop and the fuzzer
 * pass on a broken server. Each case is a history or a text that must be
 * flagged, next to the honest one that must not.
 */

const op = (o: Partial<WriteOp> & Pick<WriteOp, "kind" | "sentAt">): WriteOp => ({
  cycle: 1,
  key: 0,
  ...o,
});

describe("the crash loop's history checks", () => {
  const set1 = op({ kind: "set", value: "aa", sentAt: 1, ackAt: 2, outcome: "acked", version: 5n });
  const set2 = op({ kind: "set", value: "bb", sentAt: 3, ackAt: 4, outcome: "acked", version: 7n });

  it("accept the latest acknowledged write read back", () => {
    expect(checkKey(0, undefined, [set1, set2], { version: 7n, value: "bb" })).toEqual([]);
  });

  it("flag an older acknowledged write read back (a lost write)", () => {
    expect(
      checkKey(0, undefined, [set1, set2], { version: 5n, value: "aa" }).map((p) => p.check),
    ).toContain("lost-write");
  });

  it("flag an absent key whose last write no delete could follow", () => {
    expect(checkKey(0, undefined, [set1, set2], undefined).map((p) => p.check)).toEqual([
      "lost-write",
    ]);
    const cutOffDelete = op({ kind: "delete", sentAt: 5, outcome: "unknown" });
    expect(checkKey(0, undefined, [set1, set2, cutOffDelete], undefined)).toEqual([]);
  });

  it("flag a delete acknowledged after the read-back value's write (a lost delete)", () => {
    const del = op({ kind: "delete", sentAt: 5, ackAt: 6, outcome: "acked", deleted: true });
    expect(
      checkKey(0, undefined, [set1, set2, del], { version: 7n, value: "bb" }).map((p) => p.check),
    ).toEqual(["lost-delete"]);
    expect(checkKey(0, undefined, [set1, set2, del], undefined)).toEqual([]);
  });

  it("flag a value nobody wrote, and a check-and-set that passed a newer write", () => {
    expect(
      checkKey(0, undefined, [set1], { version: 5n, value: "ff" }).map((p) => p.check),
    ).toContain("unknown-value");
    const cas = op({
      kind: "cas-set",
      value: "cc",
      expected: 5n,
      sentAt: 5,
      ackAt: 6,
      outcome: "acked",
      version: 9n,
    });
    expect(
      checkKey(0, undefined, [set1, set2, cas], { version: 9n, value: "cc" }).map((p) => p.check),
    ).toEqual(["stale-cas"]);
  });

  it("flag a version given twice and a version that went backwards across a restart", () => {
    const again = op({
      kind: "set",
      value: "dd",
      sentAt: 10,
      ackAt: 11,
      outcome: "acked",
      version: 7n,
      cycle: 2,
    });
    expect(checkVersions([set1, set2, again]).map((p) => p.check)).toEqual([
      "version-reuse",
      "version-order",
    ]);
    const lower = op({
      kind: "set",
      value: "ee",
      sentAt: 10,
      ackAt: 11,
      outcome: "acked",
      version: 6n,
      cycle: 2,
    });
    expect(checkVersions([set1, set2, lower]).map((p) => p.check)).toEqual(["version-order"]);
    expect(checkVersions([set1, set2])).toEqual([]);
  });
});

describe("the leak patterns", () => {
  const known = { values: [{ what: "admin token", text: "attack-admin-0123456789abcdef" }] };
  const all = ["access-token", "known-secret", "stack-trace", "sql"] as const;

  it("see tokens, stack traces and SQL", () => {
    expect(findLeaks(`x hxk_0123456789abcdef_${"A".repeat(43)} y`, known, all)).toHaveLength(1);
    expect(findLeaks("Bearer attack-admin-0123456789abcdef", known, all)).toHaveLength(1);
    expect(
      findLeaks("Error: boom\n    at run (/app/dist/src/vault/vault.js:12:5)", known, all).map(
        (l) => l.kind,
      ),
    ).toContain("stack-trace");
    expect(
      findLeaks("SQLITE_CONSTRAINT: UNIQUE constraint failed: entries.key_id", known, all),
    ).not.toEqual([]);
    expect(findLeaks("select blob from entries where key_id = ?", known, all)).not.toEqual([]);
  });

  it("leave alone the API's own words: the hxk_ prefix in advice, and the schema's comments", () => {
    expect(
      findLeaks(
        "the access token is not valid: check HEXCLAVE_TOKEN (tokens look like hxk_…)",
        known,
        all,
      ),
    ).toEqual([]);
    expect(findLeaks("The store to delete from.\n", known, all)).toEqual([]);
  });

  it("allow a stack trace only in a server-fault line on stdout", () => {
    const fault = JSON.stringify({
      level: 50,
      msg: "call failed",
      err: { stack: "Error\n    at x (/a/b.js:1:1)" },
    });
    expect(isServerFaultLine(fault)).toBe(true);
    expect(scanServerOutput({ stdout: [fault], stderr: [] }, known)).toEqual([]);
    expect(
      scanServerOutput({ stdout: [], stderr: ["Error\n    at x (/a/b.js:1:1)"] }, known),
    ).toHaveLength(1);
    const tokenInFault = JSON.stringify({
      level: 50,
      msg: "call failed",
      header: "attack-admin-0123456789abcdef",
    });
    expect(scanServerOutput({ stdout: [tokenInFault], stderr: [] }, known)).toHaveLength(1);
  });
});
