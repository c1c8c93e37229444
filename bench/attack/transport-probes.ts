import { deflateSync, gzipSync } from "node:zlib";
import { SetValueRequest } from "../../gen/hexclave/v1/vault_service.js";
import { maxRequestMessageBytes } from "../../src/vault/limits.js";
import { grpcFrame } from "../grpc-frame.js";
import {
  baseRequest,
  type ProbeContext,
  type ProbeParts,
  pickToken,
  splitRandomly,
} from "./probe-context.js";
import type { RawHeaders } from "./raw-grpc-call.js";
import { RPC_TARGETS } from "./rpc-targets.js";

/**
 * Probes below the protobuf layer: gRPC framing, compression, HTTP/2
 * headers, the authorization header, oversized everything, and calls the
 * attacker abandons midway.
 */

/** A gRPC frame with any flag byte and any declared length. */
export function rawFrame(message: Uint8Array, flag = 0, declared = message.length): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(flag & 0xff, 0);
  header.writeUInt32BE(declared >>> 0, 1);
  return Buffer.concat([header, message]);
}

const admin = (ctx: ProbeContext): RawHeaders => ({
  authorization: `Bearer ${ctx.fx.tokens.admin}`,
});
const shared = (label: string, request: ProbeParts["request"]): ProbeParts => ({
  label,
  request,
  connection: "shared",
});
const own = (label: string, request: ProbeParts["request"]): ProbeParts => ({
  label,
  request,
  connection: "own",
});
const first = (ctx: ProbeContext): Buffer => Buffer.from(ctx.valid[0] ?? new Uint8Array(0));

/** Wrong length prefixes, trailing bytes, several or no messages, odd flags, dribbled frames. */
export function framingProbe(ctx: ProbeContext): ProbeParts {
  const { rng } = ctx;
  const m = first(ctx);
  const auth = pickToken(ctx);
  const req = (label: string, chunks: Uint8Array[], extra: RawHeaders = {}, end = true) =>
    shared(`${auth.label}; ${label}`, {
      ...baseRequest(ctx, chunks, { ...auth.headers, ...extra }),
      ...(end ? {} : { end: false }),
    });
  switch (rng.int(14)) {
    case 0: {
      const more = rng.pick([1, 100, 65536]);
      return req(`length prefix ${more} too long`, [rawFrame(m, 0, m.length + more)]);
    }
    case 1: {
      const less = rng.range(1, Math.max(1, m.length));
      return req(`length prefix ${less} too short`, [rawFrame(m, 0, Math.max(0, m.length - less))]);
    }
    case 2:
      return req("length prefix 0xffffffff", [rawFrame(m, 0, 0xffffffff)]);
    case 3:
      return req("length prefix one past the limit", [rawFrame(m, 0, maxRequestMessageBytes + 1)]);
    case 4: {
      const extra = rng.range(1, 4);
      return req(`${extra} trailing bytes`, [Buffer.concat([grpcFrame(m), rng.bytes(extra)])]);
    }
    case 5: {
      const n = rng.pick([2, 3, 100]);
      return req(`${n} messages`, [Buffer.concat(Array.from({ length: n }, () => grpcFrame(m)))]);
    }
    case 6:
      return req("no message at all", []);
    case 7:
      return req("zero-length message", [grpcFrame(new Uint8Array(0))]);
    case 8: {
      const flag = rng.range(2, 255);
      return req(`flag byte ${flag}`, [rawFrame(m, flag)]);
    }
    case 9:
      return req(
        "one byte per DATA frame",
        [...grpcFrame(m)].map((b) => Buffer.of(b)),
      );
    case 10:
      return req("split at random", splitRandomly(grpcFrame(m), rng));
    case 11:
      return req("frame header only", [rawFrame(new Uint8Array(0), 0, m.length)]);
    case 12:
      return req(
        "no half-close, 300 ms deadline",
        [grpcFrame(m)],
        { "grpc-timeout": "300m" },
        false,
      );
    default:
      return req("partial frame header", [Buffer.from([0, 0, 0])]);
  }
}

/** An 8 MiB message of zeros, gzipped: a decompression bomb of 8 KiB. */
let bomb: Buffer | undefined;
const gzipBomb = (): Buffer => {
  bomb ??= gzipSync(Buffer.alloc(8 * 1024 * 1024));
  return bomb;
};

/** The compressed flag with and without grpc-encoding, bad and good payloads, bombs. */
export function compressionProbe(ctx: ProbeContext): ProbeParts {
  const { rng } = ctx;
  const m = first(ctx);
  const auth = pickToken(ctx);
  const req = (label: string, body: Buffer, encoding: string | null) =>
    shared(
      `${auth.label}; ${label}`,
      baseRequest(ctx, [body], { ...auth.headers, "grpc-encoding": encoding }),
    );
  switch (rng.int(10)) {
    case 0:
      return req("compressed flag, no grpc-encoding", rawFrame(m, 1), null);
    case 1:
      return req("compressed flag, grpc-encoding identity", rawFrame(m, 1), "identity");
    case 2:
      return req("gzip flag, payload not gzip", rawFrame(rng.bytes(rng.range(1, 200)), 1), "gzip");
    case 3:
      return req(
        "deflate flag, payload not deflate",
        rawFrame(rng.bytes(rng.range(1, 200)), 1),
        "deflate",
      );
    case 4: {
      const gz = gzipSync(m);
      return req("gzip truncated", rawFrame(gz.subarray(0, rng.int(gz.length)), 1), "gzip");
    }
    case 5:
      return req("valid gzip", rawFrame(gzipSync(m), 1), "gzip");
    case 6:
      return req("valid deflate", rawFrame(deflateSync(m), 1), "deflate");
    case 7:
      return req("gzip bomb (8 KiB → 8 MiB)", rawFrame(gzipBomb(), 1), "gzip");
    case 8: {
      const encoding = rng.pick(["br", "zstd", "snappy", "x-unknown", "gzip, deflate", ""]);
      return req(`compressed flag, grpc-encoding "${encoding}"`, rawFrame(m, 1), encoding);
    }
    default:
      return req("grpc-encoding gzip, flag 0", rawFrame(m, 0), "gzip");
  }
}

const BAD_TIMEOUTS = [
  "abc",
  "99999999999S",
  "-1m",
  "1",
  "1x",
  "0n",
  "0S",
  "100000000H",
  "5 S",
  "",
  "1.5S",
  "99999999H",
  "00000001n",
  "1m1m",
];
const CONTENT_TYPES = [
  null,
  "text/plain",
  "application/json",
  "application/grpc+json",
  "application/grpc-web",
  "application/grpcfoo",
  "",
  "APPLICATION/GRPC",
  "application/grpc; charset=utf-8",
];

/** Content types, grpc-timeout values, te, methods, paths and odd metadata. */
export function headerProbe(ctx: ProbeContext): ProbeParts {
  const { rng } = ctx;
  const frames = [Buffer.concat(ctx.valid.map((m) => grpcFrame(m)))];
  const req = (label: string, headers: RawHeaders, path = ctx.target.path) =>
    shared(label, { ...baseRequest(ctx, frames, { ...admin(ctx), ...headers }), path });
  switch (rng.int(10)) {
    case 0: {
      const type = rng.pick(CONTENT_TYPES);
      return req(`content-type ${JSON.stringify(type)}`, { "content-type": type });
    }
    case 1: {
      const timeout = rng.pick(BAD_TIMEOUTS);
      return req(`grpc-timeout ${JSON.stringify(timeout)}`, { "grpc-timeout": timeout });
    }
    case 2:
      return req("no te header", { te: null });
    case 3: {
      const method = rng.pick(["GET", "PUT", "DELETE", "OPTIONS", "PATCH"]);
      return req(`:method ${method}`, { ":method": method });
    }
    case 4: {
      const path = rng.pick([
        `${ctx.target.path}X`,
        "/hexclave.v1.VaultService/",
        "/hexclave.v1.NoSuchService/GetValue",
        "/",
        "//",
        `${ctx.target.path}?a=b`,
        `/${"a".repeat(8192)}`,
        "/%2e%2e/hexclave.v1.VaultService/GetValue",
        ctx.target.path.toLowerCase(),
        "*",
      ]);
      return req(`:path ${JSON.stringify(path.slice(0, 48))}`, {}, path);
    }
    case 5:
      return req("grpc-encoding without the compressed flag", {
        "grpc-encoding": rng.pick(["gzip", "garbage", "identity"]),
        "grpc-accept-encoding": "garbage,,,;q=2",
      });
    case 6:
      return req("-bin metadata that is not base64", {
        "x-trace-bin": rng.pick(["!!!not base64!!!", "=", "a", "%%%"]),
      });
    case 7:
      return req("client-sent grpc-status and grpc-message", {
        "grpc-status": "13",
        "grpc-message": "%zz",
      });
    case 8:
      // (Two content-type or authorization fields are sent as raw frames: node:http2 refuses to.)
      return req("odd :authority and user-agent", {
        ":authority": "bad host:99999",
        "user-agent": "\u0001\u00ff",
      });
    default: {
      const value = String.fromCharCode(...rng.bytes(rng.range(1, 64)));
      return req("metadata value of random latin1 bytes", { "x-junk": value });
    }
  }
}

/** Malformed authorization headers; several carry the real admin token, which must never echo. */
export function authProbe(ctx: ProbeContext): ProbeParts {
  const { rng, fx } = ctx;
  const token = fx.tokens.admin;
  const frames = [Buffer.concat(ctx.valid.map((m) => grpcFrame(m)))];
  const cases: [string, string | readonly string[]][] = [
    ['"Bearer" alone', "Bearer"],
    ['"Bearer " and nothing', "Bearer "],
    ["tab separator", `Bearer\t${token}`],
    ["non-breaking space separator", `Bearer\u00a0${token}`],
    ["trailing tab", `Bearer ${token}\t`],
    ["leading tab", `\tBearer ${token}`],
    ["two spaces", `Bearer  ${token}`],
    ["control character", `Bearer \u0001${token}`],
    ["DEL character", `Bearer ${token}\u007f`],
    ["NUL character", `Bearer ${token}\u0000`],
    ["CR LF", `Bearer ${token}\r\nx-injected: 1`],
    ["8 KiB token", `Bearer ${rng.text(8192)}`],
    ["non-ASCII latin1", `Bearer \u00fc${token}`],
    ["non-ASCII beyond latin1", `Bearer 日本${token}`],
    ["wrong scheme", `Basic ${token}`],
    ["lowercase scheme", `bearer ${token}`],
    ["token twice", `Bearer ${token}, Bearer ${token}`],
    ["token then garbage", `Bearer ${token} x`],
    [
      "hxk_ with a wrong-length secret",
      `Bearer hxk_${rng.bytes(8).toString("hex")}_${rng.text(42)}`,
    ],
    [
      "hxk_ with uppercase id",
      `Bearer hxk_${rng.bytes(8).toString("hex").toUpperCase()}_${rng.bytes(32).toString("base64url")}`,
    ],
  ];
  const [label, value] = rng.pick(cases);
  return shared(`authorization: ${label}`, baseRequest(ctx, frames, { authorization: value }));
}

/** Messages over the limit, 200 KB header values, 300 header fields of 100 bytes, and more. */
export function oversizedProbe(ctx: ProbeContext): ProbeParts {
  const { rng, fx } = ctx;
  const frames = [Buffer.concat(ctx.valid.map((m) => grpcFrame(m)))];
  const req = (label: string, headers: RawHeaders) =>
    own(label, baseRequest(ctx, frames, { ...admin(ctx), ...headers }));
  switch (rng.int(8)) {
    case 0:
      return req("a 200 KB header value", { "x-big": "a".repeat(200 * 1024) });
    case 1:
      return req("300 header fields of 100 bytes", manyHeaders(300, 100));
    case 2:
      return req("a 200 KB authorization header", {
        authorization: `Bearer ${"t".repeat(200 * 1024)}`,
      });
    case 3:
      return req("4,000 header fields of 10 bytes", manyHeaders(4000, 10));
    case 4:
      return req("a 100 KB header name", { [`x-${"n".repeat(100 * 1024)}`]: "v" });
    case 5: {
      const message = SetValueRequest.encode({
        storeId: fx.mainStore,
        key: fx.keys[0],
        sealedValue: Buffer.alloc(maxRequestMessageBytes + rng.range(1, 4096), 7),
        previousKeys: [],
      }).finish();
      return {
        ...own(
          "a message over the request limit",
          baseRequest(setValue(ctx), [grpcFrame(message)], admin(ctx)),
        ),
        target: setValue(ctx).target,
      };
    }
    case 6: {
      const message = SetValueRequest.encode({
        storeId: fx.mainStore,
        key: fx.keys[0],
        sealedValue: Buffer.alloc(1024 * 1024, 7),
        previousKeys: [],
      }).finish();
      return {
        ...own(
          "a 1 MiB value for a 64 KiB store",
          baseRequest(setValue(ctx), [grpcFrame(message)], admin(ctx)),
        ),
        target: setValue(ctx).target,
      };
    }
    default:
      return req("a 100 KB store id in metadata and 64 KB user-agent", {
        "user-agent": "u".repeat(64 * 1024),
        "x-store": "s".repeat(100 * 1024),
      });
  }
}

/** The context retargeted at SetValue. */
function setValue(ctx: ProbeContext): ProbeContext {
  const target = RPC_TARGETS.find((t) => t.path.endsWith("/SetValue")) as ProbeContext["target"];
  return { ...ctx, target };
}

/** `count` header fields of `bytes` bytes each. */
export function manyHeaders(count: number, bytes: number): Record<string, string> {
  return Object.fromEntries(
    Array.from({ length: count }, (_, i) => [`x-flood-${i}`, "h".repeat(bytes)]),
  );
}

/** RST_STREAM before, during and right after the request; the session destroyed or GOAWAY'd midway. */
export function cancelProbe(ctx: ProbeContext): ProbeParts {
  const { rng } = ctx;
  const auth = pickToken(ctx);
  const frames = Buffer.concat(ctx.valid.map((m) => grpcFrame(m)));
  const chunks = splitRandomly(frames, rng);
  const delayMs = rng.pick([0, 0, 1, 2, 5, 20]);
  const base = baseRequest(ctx, chunks, auth.headers);
  switch (rng.int(6)) {
    case 0:
      return shared(`RST_STREAM after the headers (${delayMs} ms)`, {
        ...base,
        interrupt: { afterChunks: 0, delayMs, how: "rst" },
      });
    case 1:
      return shared(`RST_STREAM mid-body (${delayMs} ms)`, {
        ...base,
        interrupt: { afterChunks: Math.max(1, chunks.length - 1), delayMs, how: "rst" },
      });
    case 2:
      return shared(`RST_STREAM after the half-close (${delayMs} ms)`, {
        ...base,
        interrupt: { afterChunks: "end", delayMs, how: "rst" },
      });
    case 3:
      return own(`session destroyed mid-call (${delayMs} ms)`, {
        ...base,
        interrupt: {
          afterChunks: rng.pick([0, 1, "end"] as const),
          delayMs,
          how: "destroy-session",
        },
      });
    case 4:
      return own(`client GOAWAY mid-call (${delayMs} ms)`, {
        ...base,
        interrupt: { afterChunks: "end", delayMs, how: "goaway" },
      });
    default:
      return shared("reset after the first response bytes", {
        ...base,
        maxResponseBytes: 1,
      });
  }
}
