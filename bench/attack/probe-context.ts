import type { RawHeaders, RawRequest } from "./raw-grpc-call.js";
import type { AttackFixture, RpcTarget } from "./rpc-targets.js";
import type { SeededRandom } from "./seeded-random.js";

/**
 * What every fuzz probe builder shares: the categories, the probe's shape,
 * its context, and the request, token and chunking helpers.
 */

/** The attack categories, each a row of the report. */
export const CATEGORIES = [
  "valid",
  "proto-random",
  "proto-mutated",
  "proto-wire-type",
  "proto-huge-varint",
  "proto-nested",
  "proto-unknown-fields",
  "framing",
  "compression",
  "headers",
  "auth-header",
  "oversized",
  "cancel",
  "h2-frames",
] as const;

/** One category. */
export type Category = (typeof CATEGORIES)[number];

/** A request over node:http2. */
export interface Http2Probe {
  readonly transport: "http2";
  readonly index: number;
  readonly category: Category;
  readonly target: RpcTarget;
  /** What was done, for the report. */
  readonly label: string;
  readonly request: RawRequest;
  /** "own": on a connection of its own, because it may take the connection down. */
  readonly connection: "shared" | "own";
}

/** What a probe builder gets. */
export interface ProbeContext {
  readonly fx: AttackFixture;
  readonly rng: SeededRandom;
  readonly target: RpcTarget;
  /** The target's valid request message(s). */
  readonly valid: Uint8Array[];
}

/** A probe builder's output, before the common fields are added (`target` if it calls another method). */
export type ProbeParts = Pick<Http2Probe, "label" | "request" | "connection"> & {
  readonly target?: RpcTarget;
};

/** The request every probe starts from: its target's path, deadline and reading limits. */
export function baseRequest(
  ctx: ProbeContext,
  chunks: readonly Uint8Array[],
  headers: RawHeaders = {},
): RawRequest {
  return {
    path: ctx.target.path,
    headers: ctx.target.openEnded === true ? { "grpc-timeout": "500m", ...headers } : headers,
    chunks,
    timeoutMs: ctx.target.openEnded === true ? 3_000 : 20_000,
    // Watch never ends and ListEntries may stream for long: enough to see the first answer.
    ...(ctx.target.kind === "server-stream"
      ? { maxResponseBytes: ctx.target.openEnded === true ? 1 : 256 * 1024 }
      : {}),
  };
}

/** A token (or none, or a bad one), weighted toward ones that pass authentication. */
export function pickToken(ctx: ProbeContext): { label: string; headers: RawHeaders } {
  const { fx, rng } = ctx;
  const choice = rng.weighted([
    ["admin", 55],
    ["read-write", 15],
    ["read-only", 8],
    ["revoked", 4],
    ["none", 8],
    ["unknown", 5],
    ["bearer-only", 5],
  ] as const);
  const value: Record<typeof choice, string | null> = {
    admin: `Bearer ${fx.tokens.admin}`,
    "read-write": `Bearer ${fx.tokens.readWrite}`,
    "read-only": `Bearer ${fx.tokens.readOnly}`,
    revoked: `Bearer ${fx.tokens.revoked}`,
    none: null,
    unknown: `Bearer hxk_${rng.bytes(8).toString("hex")}_${rng.bytes(32).toString("base64url")}`,
    "bearer-only": "Bearer",
  };
  return { label: `token ${choice}`, headers: { authorization: value[choice] } };
}

/** A token that passes authentication for the main store: admin or read+write. */
export function pickValidToken(ctx: ProbeContext): { label: string; headers: RawHeaders } {
  const scoped = ctx.rng.chance(0.3);
  const token = scoped ? ctx.fx.tokens.readWrite : ctx.fx.tokens.admin;
  return {
    label: `token ${scoped ? "read-write" : "admin"}`,
    headers: { authorization: `Bearer ${token}` },
  };
}

/** `bytes` cut into 2 to 40 DATA frames at random places (some of them one byte long). */
export function splitRandomly(bytes: Buffer, rng: SeededRandom): Buffer[] {
  if (bytes.length < 2) return [bytes];
  const cuts = new Set<number>();
  const n = rng.range(1, Math.min(40, bytes.length - 1));
  for (let i = 0; i < n; i++) cuts.add(rng.range(1, bytes.length - 1));
  const sorted = [0, ...[...cuts].sort((a, b) => a - b), bytes.length];
  return sorted.slice(1).map((end, i) => bytes.subarray(sorted[i], end));
}
