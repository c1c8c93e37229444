import type { FrameOutcome, H2FrameProbe } from "./h2-frame-probes.js";
import { findLeaks, type KnownSecrets, type LeakKind, mask } from "./leak-patterns.js";
import type { Category, Http2Probe } from "./probe-context.js";
import type { Outcome } from "./raw-grpc-call.js";
import { shortMethod } from "./rpc-targets.js";

/**
 * Counts what each category of probe got back and judges every answer:
 * INTERNAL or UNKNOWN, a leak, a call that never ended or ended without a
 * status is a violation, kept with the probe that caused it.
 */

/** Per category: what was sent and how it ended. */
export interface CategoryTally {
  sent: number;
  /** grpc-status → count. */
  readonly statuses: Record<number, number>;
  /** Clean refusals below gRPC. */
  rst: number;
  goaway: number;
  http: number;
  /** Raw-frame probes: a HEADERS frame came back (not decoded), or nothing at all. */
  answered: number;
  silent: number;
  /** The attacker itself reset or abandoned the call. */
  selfCancelled: number;
  refusedLocally: number;
  noStatus: number;
  hung: number;
  internal: number;
  leaks: number;
}

/** What a violation is. */
export type ViolationKind = "internal-or-unknown" | "response-leak" | "no-status" | "hung";

/** One violating answer, with what reproduces it. */
export interface Violation {
  readonly kind: ViolationKind;
  readonly category: Category;
  readonly index: number;
  readonly method: string;
  readonly label: string;
  readonly detail: string;
  /** The request, secrets masked: headers and the first bytes of the body in hex. */
  readonly request: string;
}

/** Tallies and violations of one run. */
export class FuzzTally {
  readonly categories = new Map<Category, CategoryTally>();
  readonly violations: Violation[] = [];
  /** Violations per "kind|category|first words of the detail", counted even when not kept. */
  readonly counts = new Map<string, number>();
  /** The methods each of those signatures was seen on. */
  readonly methods = new Map<string, Set<string>>();
  /** The slowest calls, for spotting stalls: "ms #index category label". */
  readonly slowest: { ms: number; what: string }[] = [];
  readonly #known: KnownSecrets;
  readonly #keepPerSignature: number;

  constructor(known: KnownSecrets, keepPerSignature = 2) {
    this.#known = known;
    this.#keepPerSignature = keepPerSignature;
  }

  #row(category: Category): CategoryTally {
    let row = this.categories.get(category);
    if (row === undefined) {
      row = {
        sent: 0,
        statuses: {},
        rst: 0,
        goaway: 0,
        http: 0,
        answered: 0,
        silent: 0,
        selfCancelled: 0,
        refusedLocally: 0,
        noStatus: 0,
        hung: 0,
        internal: 0,
        leaks: 0,
      };
      this.categories.set(category, row);
    }
    return row;
  }

  /** Records one HTTP/2 probe's outcome and judges it. */
  record(probe: Http2Probe, outcome: Outcome): void {
    const row = this.#row(probe.category);
    row.sent += 1;
    this.#timed(
      outcome.ms,
      `#${probe.index} ${probe.category} ${shortMethod(probe.target.path)}: ${probe.label} → ${outcome.kind} ${outcome.grpcStatus ?? outcome.errorCode ?? ""}`,
    );
    switch (outcome.kind) {
      case "status": {
        const code = outcome.grpcStatus ?? -1;
        row.statuses[code] = (row.statuses[code] ?? 0) + 1;
        if (code === 13 || code === 2) {
          row.internal += 1;
          this.#violate(
            "internal-or-unknown",
            probe,
            `status ${code}: ${outcome.grpcMessage ?? ""}`,
          );
        }
        break;
      }
      case "rst":
        row.rst += 1;
        break;
      case "goaway":
        row.goaway += 1;
        break;
      case "http":
        row.http += 1;
        break;
      case "self-cancelled":
        row.selfCancelled += 1;
        break;
      case "refused-locally":
        row.refusedLocally += 1;
        break;
      case "no-status":
        row.noStatus += 1;
        this.#violate(
          "no-status",
          probe,
          `HTTP ${outcome.headers[":status"] ?? "?"}, no grpc-status`,
        );
        break;
      case "timeout":
        if (probe.target.openEnded === true) {
          row.selfCancelled += 1;
        } else {
          row.hung += 1;
          this.#violate("hung", probe, `no end after ${probe.request.timeoutMs} ms`);
        }
        break;
    }
    const leaks = this.#responseLeaks(probe, outcome);
    if (leaks.length > 0) {
      row.leaks += 1;
      for (const leak of leaks) this.#violate("response-leak", probe, leak);
    }
  }

  /** Records one raw-frame probe's outcome (refusal kind only: header blocks are not decoded). */
  recordFrames(probe: H2FrameProbe, outcome: FrameOutcome): void {
    const row = this.#row(probe.category);
    row.sent += 1;
    if (outcome.kind === "goaway" || outcome.kind === "closed") row.goaway += 1;
    else if (outcome.kind === "rst") row.rst += 1;
    else if (outcome.kind === "answered") row.answered += 1;
    else row.silent += 1;
    const text = outcome.received.toString("latin1");
    // A raw CreateToken call that went through carries its new token, by design.
    const checks: LeakKind[] = probe.path.endsWith("/CreateToken")
      ? ["known-secret", "stack-trace", "sql"]
      : ["access-token", "known-secret", "stack-trace", "sql"];
    const leaks = findLeaks(text, this.#known, checks);
    if (leaks.length > 0) {
      row.leaks += 1;
      for (const leak of leaks) {
        this.#keep({
          kind: "response-leak",
          category: probe.category,
          index: probe.index,
          method: shortMethod(probe.path),
          label: probe.label,
          detail: `${leak.kind}: ${leak.what}`,
          request: probe.label,
        });
      }
    }
  }

  #timed(ms: number, what: string): void {
    if (this.slowest.length >= 10 && ms <= (this.slowest[this.slowest.length - 1]?.ms ?? 0)) return;
    this.slowest.push({ ms, what: mask(what, this.#known).slice(0, 160) });
    this.slowest.sort((a, b) => b.ms - a.ms);
    this.slowest.length = Math.min(this.slowest.length, 10);
  }

  /** Violations counted per kind. */
  totals(): Record<ViolationKind, number> {
    const out: Record<ViolationKind, number> = {
      "internal-or-unknown": 0,
      "response-leak": 0,
      "no-status": 0,
      hung: 0,
    };
    for (const [signature, n] of this.counts) {
      out[signature.split("|")[0] as ViolationKind] += n;
    }
    return out;
  }

  #responseLeaks(probe: Http2Probe, outcome: Outcome): string[] {
    const { headers, trailers } = outcome;
    const details = [headers["grpc-status-details-bin"], trailers["grpc-status-details-bin"]]
      .filter((v): v is string => typeof v === "string")
      .map((v) => Buffer.from(v, "base64").toString("latin1"));
    const metadata = [
      JSON.stringify(headers),
      JSON.stringify(trailers),
      outcome.grpcMessage ?? "",
      ...details,
    ].join("\n");
    // CreateToken answers with the new token by design: its response message (sent only on
    // success, possibly cut short by the attacker's own reset) is the one place one may appear.
    const tokenInBodyAllowed = probe.target.path.endsWith("/CreateToken");
    const body = outcome.body.toString("latin1");
    const presented = presentedCredential(probe);
    const known: KnownSecrets =
      presented === undefined
        ? this.#known
        : {
            values: [...this.#known.values, { what: "the presented credential", text: presented }],
          };
    const found = [
      ...findLeaks(metadata, known, ["access-token", "known-secret", "stack-trace", "sql"]).map(
        (l) => `${l.kind} in status/metadata: ${l.what}`,
      ),
      ...findLeaks(
        body,
        known,
        tokenInBodyAllowed
          ? ["known-secret", "stack-trace", "sql"]
          : ["access-token", "known-secret", "stack-trace", "sql"],
      ).map((l) => `${l.kind} in a response message: ${l.what}`),
    ];
    return found;
  }

  #violate(kind: ViolationKind, probe: Http2Probe, detail: string): void {
    const headers = Object.entries(probe.request.headers ?? {})
      .map(([name, value]) => `${name}: ${JSON.stringify(value)?.slice(0, 80)}`)
      .join("; ");
    const body = Buffer.concat(probe.request.chunks.map((c) => Buffer.from(c)));
    this.#keep({
      kind,
      category: probe.category,
      index: probe.index,
      method: shortMethod(probe.target.path),
      label: probe.label,
      detail: mask(detail, this.#known).slice(0, 200),
      request: mask(
        `${probe.request.path} {${headers}} body(${body.length} B)=${body.subarray(0, 48).toString("hex")}${body.length > 48 ? "…" : ""}`,
        this.#known,
      ),
    });
  }

  #keep(v: Violation): void {
    // Messages carry request ids and echoed input: group by their first words.
    const signature = `${v.kind}|${v.category}|${v.detail.replace(/\(request id [^)]*\)/, "").slice(0, 48)}`;
    const n = (this.counts.get(signature) ?? 0) + 1;
    this.counts.set(signature, n);
    let methods = this.methods.get(signature);
    if (methods === undefined) {
      methods = new Set();
      this.methods.set(signature, methods);
    }
    methods.add(v.method);
    if (n <= this.#keepPerSignature) this.violations.push(v);
  }
}

/** The token text a probe sent, when long enough to recognise if echoed. */
function presentedCredential(probe: Http2Probe): string | undefined {
  const value = probe.request.headers?.authorization;
  const text = typeof value === "string" ? value : undefined;
  const token = text?.replace(/^\s*\w+[\s\u00a0]+/, "");
  return token !== undefined && token.length >= 12 ? token : undefined;
}
