import { grpcFrame } from "../grpc-frame.js";
import { type H2FrameProbe, h2FrameProbe } from "./h2-frame-probes.js";
import {
  baseRequest,
  CATEGORIES,
  type Category,
  type Http2Probe,
  type ProbeContext,
  type ProbeParts,
  pickToken,
  pickValidToken,
  splitRandomly,
} from "./probe-context.js";
import {
  hugeVarint,
  type Mutated,
  mutateBytes,
  nestedGarbage,
  randomBody,
  unknownFields,
  wrongWireType,
} from "./protobuf-mutations.js";
import { type AttackFixture, RPC_TARGETS } from "./rpc-targets.js";
import { SeededRandom } from "./seeded-random.js";
import {
  authProbe,
  cancelProbe,
  compressionProbe,
  framingProbe,
  headerProbe,
  oversizedProbe,
} from "./transport-probes.js";

/**
 * The fuzzer's requests. Probe number i of a seed is the same on every run
 * (its own PRNG stream, derived from the seed and i), whatever the
 * concurrency, so one failing probe can be replayed alone (`--replay i`).
 */

/** How often each category is drawn (relative). */
const WEIGHTS: Readonly<Record<Category, number>> = {
  valid: 6,
  "proto-random": 8,
  "proto-mutated": 20,
  "proto-wire-type": 8,
  "proto-huge-varint": 8,
  "proto-nested": 5,
  "proto-unknown-fields": 5,
  framing: 10,
  compression: 5,
  headers: 10,
  "auth-header": 6,
  oversized: 1.5,
  cancel: 6,
  "h2-frames": 1.5,
};

/** One probe of either transport. */
export type Probe = Http2Probe | H2FrameProbe;

/**
 * Probe number `index` of `seed`.
 *
 * @example
 * const probe = probeAt("seed-1", 1234, fixture);
 */
export function probeAt(seed: string, index: number, fx: AttackFixture): Probe {
  const rng = SeededRandom.derive(seed, "probe", index);
  const category = rng.weighted(CATEGORIES.map((c) => [c, WEIGHTS[c]] as const));
  if (category === "h2-frames") return h2FrameProbe(index, rng, fx);
  const target = rng.pick(RPC_TARGETS);
  const ctx: ProbeContext = { fx, rng, target, valid: target.valid(fx, rng) };
  const parts = buildParts(category, ctx);
  return { transport: "http2", index, category, ...parts, target: parts.target ?? target };
}

function buildParts(category: Exclude<Category, "h2-frames">, ctx: ProbeContext): ProbeParts {
  switch (category) {
    case "valid":
      return bodyProbe(ctx, { bytes: Buffer.concat(ctx.valid), label: "as generated" }, true);
    case "proto-random":
      return bodyProbe(ctx, randomBody(ctx.rng));
    case "proto-mutated":
      return bodyProbe(ctx, mutateBytes(firstMessage(ctx), ctx.rng));
    case "proto-wire-type":
      return bodyProbe(ctx, wrongWireType(firstMessage(ctx), ctx.target.fields, ctx.rng));
    case "proto-huge-varint":
      return bodyProbe(ctx, hugeVarint(firstMessage(ctx), ctx.target.fields, ctx.rng));
    case "proto-nested":
      return bodyProbe(ctx, nestedGarbage(firstMessage(ctx), ctx.target.fields, ctx.rng));
    case "proto-unknown-fields":
      return bodyProbe(ctx, unknownFields(firstMessage(ctx), ctx.rng));
    case "framing":
      return framingProbe(ctx);
    case "compression":
      return compressionProbe(ctx);
    case "headers":
      return headerProbe(ctx);
    case "auth-header":
      return authProbe(ctx);
    case "oversized":
      return oversizedProbe(ctx);
    case "cancel":
      return cancelProbe(ctx);
  }
}

function firstMessage(ctx: ProbeContext): Uint8Array {
  return ctx.valid[0] ?? new Uint8Array(0);
}

/**
 * A well-framed request carrying `body` (the valid request's other messages
 * too, for the reflection stream), with a token drawn by weight.
 */
function bodyProbe(ctx: ProbeContext, body: Mutated, validOnly = false): ProbeParts {
  const messages = validOnly ? ctx.valid : [body.bytes, ...ctx.valid.slice(1)];
  const frames = Buffer.concat(messages.map((m) => grpcFrame(m)));
  const chunks = ctx.rng.chance(0.1) ? splitRandomly(frames, ctx.rng) : [frames];
  const auth = validOnly ? pickValidToken(ctx) : pickToken(ctx);
  return {
    label: `${auth.label}; ${body.label}`,
    request: baseRequest(ctx, chunks, auth.headers),
    connection: "shared",
  };
}
