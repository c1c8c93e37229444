import { connect } from "node:net";
import { grpcFrame } from "../grpc-frame.js";
import type { Category } from "./probe-context.js";
import { type AttackFixture, RPC_TARGETS } from "./rpc-targets.js";
import type { SeededRandom } from "./seeded-random.js";

/**
 * HTTP/2 written frame by frame on a plain socket, for what node:http2
 * refuses to send (te: gzip, connection-specific headers, raw control
 * characters, broken pseudo-headers) and for frame-level abuse (CONTINUATION
 * floods, rapid reset, SETTINGS and PING floods, bad window updates). The
 * server's answer is classified by frame type only: its header blocks are
 * HPACK/Huffman-coded and not decoded here, so these probes prove the server
 * stays up and refuses at the HTTP/2 layer; they cannot see a grpc-status.
 */

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const FRAME = {
  data: 0,
  headers: 1,
  priority: 2,
  rst: 3,
  settings: 4,
  ping: 6,
  goaway: 7,
  window: 8,
  continuation: 9,
};
const FLAG = { endStream: 0x1, ack: 0x1, endHeaders: 0x4, padded: 0x8 };

/** A probe written as raw bytes on its own TCP connection. */
export interface H2FrameProbe {
  readonly transport: "socket";
  readonly index: number;
  readonly category: Category;
  readonly label: string;
  /** The method the frames call. */
  readonly path: string;
  /** Written in order, after the client preface and an empty SETTINGS frame. */
  readonly frames: readonly Buffer[];
  readonly timeoutMs: number;
}

/** How the server reacted, by the frames it sent back. */
export interface FrameOutcome {
  readonly kind: "goaway" | "rst" | "answered" | "closed" | "silent";
  readonly errorCode?: number;
  /** Every byte received (header blocks stay HPACK-coded). */
  readonly received: Buffer;
}

/** One HTTP/2 frame. */
export function h2Frame(type: number, flags: number, stream: number, payload: Uint8Array): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header.writeUInt8(type, 3);
  header.writeUInt8(flags, 4);
  header.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([header, payload]);
}

function hpackInt(value: number, prefixBits: number, firstByte: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.of(firstByte | value);
  const out = [firstByte | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  out.push(rest);
  return Buffer.from(out);
}

/** A header block of literals without indexing and without Huffman: any bytes go through. */
export function headerBlock(fields: readonly (readonly [string, string])[]): Buffer {
  return Buffer.concat(
    fields.flatMap(([name, value]) => {
      const n = Buffer.from(name, "latin1");
      const v = Buffer.from(value, "latin1");
      return [Buffer.of(0x00), hpackInt(n.length, 7, 0), n, hpackInt(v.length, 7, 0), v];
    }),
  );
}

function requestFields(path: string, extra: readonly (readonly [string, string])[] = []) {
  return [
    [":method", "POST"],
    [":scheme", "http"],
    [":path", path],
    [":authority", "localhost"],
    ["content-type", "application/grpc"],
    ["te", "trailers"],
    ...extra,
  ] as const;
}

const settings = (entries: readonly [number, number][]): Buffer =>
  h2Frame(
    FRAME.settings,
    0,
    0,
    Buffer.concat(
      entries.map(([id, value]) => {
        const b = Buffer.alloc(6);
        b.writeUInt16BE(id, 0);
        b.writeUInt32BE(value >>> 0, 2);
        return b;
      }),
    ),
  );
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

/**
 * Raw-frame probe number `index`.
 *
 * @example
 * const probe = h2FrameProbe(7, rng, fixture);
 */
export function h2FrameProbe(index: number, rng: SeededRandom, fx: AttackFixture): H2FrameProbe {
  const target = rng.pick(RPC_TARGETS);
  const body = grpcFrame(target.valid(fx, rng)[0] ?? new Uint8Array(0));
  const auth = ["authorization", `Bearer ${fx.tokens.admin}`] as const;
  const headers = (
    extra: readonly (readonly [string, string])[],
    stream = 1,
    flags = FLAG.endHeaders,
  ) =>
    h2Frame(
      FRAME.headers,
      flags,
      stream,
      headerBlock(requestFields(target.path, [auth, ...extra])),
    );
  const data = (stream = 1) => h2Frame(FRAME.data, FLAG.endStream, stream, body);
  const make = (label: string, frames: Buffer[], timeoutMs = 1500): H2FrameProbe => ({
    transport: "socket",
    index,
    category: "h2-frames",
    label,
    path: target.path,
    frames,
    timeoutMs,
  });
  const bad = (name: string, value: string) => [headers([[name, value]]), data()];
  switch (rng.int(26)) {
    case 0:
      return make("te: gzip", bad("te", "gzip"));
    case 1:
      return make("connection: keep-alive", bad("connection", "keep-alive"));
    case 2:
      return make("transfer-encoding: chunked", bad("transfer-encoding", "chunked"));
    case 3:
      return make("NUL in a header value", bad("x-nul", "a\u0000b"));
    case 4:
      return make("CR LF in a header value", bad("x-crlf", "a\r\nx-injected: 1"));
    case 5:
      return make("uppercase header name", bad("Authorization", `Bearer ${fx.tokens.admin}`));
    case 6:
      return make(
        "authorization with raw tab and control bytes",
        bad("authorization", `Bearer\t${fx.tokens.admin}\u0001`),
      );
    case 7:
      return make("pseudo-header after a regular one", [
        h2Frame(
          FRAME.headers,
          FLAG.endHeaders,
          1,
          headerBlock([...requestFields(target.path), [":path", target.path]]),
        ),
        data(),
      ]);
    case 8:
      return make("no :path", [
        h2Frame(
          FRAME.headers,
          FLAG.endHeaders,
          1,
          headerBlock(requestFields(target.path).filter(([n]) => n !== ":path")),
        ),
        data(),
      ]);
    case 9:
      return make("unknown pseudo-header", bad(":foo", "bar"));
    case 10: {
      const n = rng.pick([100, 1000, 5000]);
      const frames = [headers([], 1, 0)];
      for (let i = 0; i < n; i++)
        frames.push(h2Frame(FRAME.continuation, 0, 1, headerBlock([[`x-c${i}`, "v".repeat(200)]])));
      return make(`CONTINUATION flood (${n} frames, never ended)`, frames, 3000);
    }
    case 11:
      return make("DATA on stream 0", [h2Frame(FRAME.data, 0, 0, body)]);
    case 12:
      return make("HEADERS on an even stream id", [headers([], 2), data(2)]);
    case 13:
      return make("stream ids going backwards", [headers([], 5), data(5), headers([], 3), data(3)]);
    case 14:
      return make("WINDOW_UPDATE of 0", [headers([]), h2Frame(FRAME.window, 0, 1, u32(0)), data()]);
    case 15:
      return make("WINDOW_UPDATE overflow", [
        h2Frame(FRAME.window, 0, 0, u32(0x7fffffff)),
        h2Frame(FRAME.window, 0, 0, u32(0x7fffffff)),
      ]);
    case 16:
      return make("invalid SETTINGS values", [
        settings([
          [2, 2],
          [4, 0x80000000],
          [5, 1],
        ]),
      ]);
    case 17: {
      const n = rng.pick([1000, 10000]);
      return make(
        `SETTINGS flood (${n})`,
        Array.from({ length: n }, () => settings([[3, 100]])),
        3000,
      );
    }
    case 18: {
      const n = rng.pick([1000, 10000]);
      return make(
        `PING flood (${n})`,
        Array.from({ length: n }, () => h2Frame(FRAME.ping, 0, 0, Buffer.alloc(8))),
        3000,
      );
    }
    case 19: {
      const n = rng.pick([200, 1000, 5000]);
      const frames: Buffer[] = [];
      for (let i = 0; i < n; i++) {
        frames.push(headers([], 1 + 2 * i), h2Frame(FRAME.rst, 0, 1 + 2 * i, u32(8)));
      }
      return make(`rapid reset (${n} streams opened and reset)`, frames, 3000);
    }
    case 20: {
      const n = rng.pick([1000, 10000]);
      const frames = [headers([])];
      for (let i = 0; i < n; i++) frames.push(h2Frame(FRAME.data, 0, 1, Buffer.alloc(0)));
      return make(`empty DATA flood (${n})`, frames, 3000);
    }
    case 21:
      return make("padding longer than the frame", [
        headers([]),
        h2Frame(FRAME.data, FLAG.padded | FLAG.endStream, 1, Buffer.concat([Buffer.of(200), body])),
      ]);
    case 22:
      return make("invalid HPACK index", [
        h2Frame(
          FRAME.headers,
          FLAG.endHeaders | FLAG.endStream,
          1,
          Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]),
        ),
      ]);
    case 23:
      return make("two content-type fields", bad("content-type", "text/plain"));
    case 24:
      return make("two authorization fields, a bad one first", [
        h2Frame(
          FRAME.headers,
          FLAG.endHeaders,
          1,
          headerBlock([...requestFields(target.path, [["authorization", "Bearer nope"]]), auth]),
        ),
        data(),
      ]);
    default:
      return make("unknown frame type and RST on an idle stream", [
        h2Frame(0xfa, 0xff, 1, rng.bytes(32)),
        h2Frame(FRAME.rst, 0, 99, u32(0)),
        headers([]),
        data(),
      ]);
  }
}

/**
 * Sends a raw-frame probe on its own connection and reads until the server
 * closes, sends GOAWAY, resets stream 1, or the probe's time is up.
 *
 * @example
 * const outcome = await sendH2FrameProbe("127.0.0.1:50051", probe);
 */
export function sendH2FrameProbe(address: string, probe: H2FrameProbe): Promise<FrameOutcome> {
  const [host, port] = [
    address.slice(0, address.lastIndexOf(":")),
    Number(address.slice(address.lastIndexOf(":") + 1)),
  ];
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const received: Buffer[] = [];
    let result: FrameOutcome["kind"] = "silent";
    let errorCode: number | undefined;
    let done = false;
    let acked = false;
    let pending = Buffer.alloc(0);
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({
        kind: result,
        ...(errorCode === undefined ? {} : { errorCode }),
        received: Buffer.concat(received),
      });
    };
    const timer = setTimeout(finish, probe.timeoutMs);
    socket.on("error", () => {
      if (result === "silent") result = "closed";
      finish();
    });
    socket.on("close", () => {
      if (result === "silent") result = "closed";
      finish();
    });
    socket.on("data", (chunk: Buffer) => {
      received.push(chunk);
      pending = Buffer.concat([pending, chunk]);
      const all = pending;
      let ended = false;
      let at = 0;
      while (at + 9 <= all.length) {
        const length = all.readUIntBE(at, 3);
        const type = all.readUInt8(at + 3);
        const flags = all.readUInt8(at + 4);
        if (at + 9 + length > all.length) break;
        if (type === FRAME.settings && (flags & FLAG.ack) === 0 && !acked) {
          acked = true;
          socket.write(h2Frame(FRAME.settings, FLAG.ack, 0, Buffer.alloc(0)));
        }
        if (type === FRAME.goaway && length >= 8) {
          result = "goaway";
          errorCode = all.readUInt32BE(at + 9 + 4);
        } else if (type === FRAME.rst && result !== "goaway") {
          result = "rst";
          errorCode = all.readUInt32BE(at + 9);
          ended = true;
        } else if (type === FRAME.headers && result === "silent") {
          result = "answered";
        }
        if (type === FRAME.headers && (flags & FLAG.endStream) !== 0) ended = true;
        at += 9 + length;
      }
      pending = all.subarray(at);
      if (result === "goaway" || ended) finish();
    });
    socket.on("connect", () => {
      socket.write(Buffer.concat([PREFACE, settings([])]));
      for (const frame of probe.frames) {
        if (socket.destroyed) break;
        socket.write(frame);
      }
    });
  });
}
