import {
  fixed32Field,
  fixed64Field,
  groupBomb,
  lenField,
  lyingLenField,
  nestedBomb,
  overlongVarint,
  tag,
  varint,
  varintField,
  WireType,
} from "./protobuf-wire.js";
import type { FieldSpec } from "./rpc-targets.js";
import type { SeededRandom } from "./seeded-random.js";

/**
 * Ways to break a protobuf request body: blind byte mutations of a valid
 * encoding, and field-aware ones (wrong wire types, extreme varints, lying
 * lengths, nesting, unknown fields). Each returns the bytes and a label
 * saying what was done, for the report.
 */

/** A mutated body and what was done to it. */
export interface Mutated {
  readonly bytes: Buffer;
  readonly label: string;
}

/** Values a uint64/int32/bool field should never be trusted with. */
export const EXTREME_VARINTS: readonly bigint[] = [
  2n ** 53n,
  2n ** 53n + 1n,
  2n ** 63n,
  2n ** 64n - 1n,
  2n ** 32n,
  2n ** 32n + 5n,
  2n ** 31n,
  2n ** 31n - 1n,
  -1n,
  -(2n ** 31n),
];

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x08, 0x0a, 0x12, 0x1a, 0x22];

/**
 * 1 to 4 blind mutations of `input`: bit flips, byte overwrites, truncation,
 * insertion, deletion, duplication, garbage at the end.
 *
 * @example
 * const { bytes, label } = mutateBytes(validBody, rng);
 */
export function mutateBytes(input: Uint8Array, rng: SeededRandom): Mutated {
  let bytes = Buffer.from(input);
  const labels: string[] = [];
  const rounds = rng.range(1, 4);
  for (let r = 0; r < rounds; r++) {
    const at = bytes.length === 0 ? 0 : rng.int(bytes.length);
    const op = rng.int(8);
    if (op === 0 && bytes.length > 0) {
      const flips = rng.range(1, 8);
      for (let i = 0; i < flips; i++) {
        const pos = rng.int(bytes.length);
        bytes[pos] = (bytes[pos] as number) ^ (1 << rng.int(8));
      }
      labels.push(`bitflip×${flips}`);
    } else if (op === 1 && bytes.length > 0) {
      bytes[at] = rng.chance(0.5) ? rng.pick(INTERESTING_BYTES) : rng.int(256);
      labels.push(`set@${at}`);
    } else if (op === 2) {
      bytes = bytes.subarray(0, at);
      labels.push(`truncate@${at}`);
    } else if (op === 3) {
      bytes = Buffer.concat([
        bytes.subarray(0, at),
        rng.bytes(rng.range(1, 16)),
        bytes.subarray(at),
      ]);
      labels.push(`insert@${at}`);
    } else if (op === 4 && bytes.length > 0) {
      const end = Math.min(bytes.length, at + rng.range(1, 16));
      bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(end)]);
      labels.push(`delete@${at}`);
    } else if (op === 5 && bytes.length > 0) {
      const end = Math.min(bytes.length, at + rng.range(1, 64));
      const span = bytes.subarray(at, end);
      bytes = Buffer.concat([bytes.subarray(0, end), span, span, bytes.subarray(end)]);
      labels.push(`duplicate@${at}`);
    } else if (op === 6) {
      bytes = Buffer.concat([bytes, rng.bytes(rng.range(1, 64))]);
      labels.push("append-garbage");
    } else {
      bytes = Buffer.concat([rng.bytes(rng.range(1, 8)), bytes]);
      labels.push("prepend-garbage");
    }
  }
  return { bytes, label: labels.join("+") };
}

/** A body of random bytes, sometimes shaped (all zero, all 0xff, random tags). */
export function randomBody(rng: SeededRandom): Mutated {
  const length = rng.weighted([
    [rng.int(16), 4],
    [rng.int(256), 4],
    [rng.int(4096), 2],
    [rng.int(65536), 1],
  ] as const);
  const shape = rng.int(4);
  if (shape === 0) return { bytes: Buffer.alloc(length, 0), label: `zeros×${length}` };
  if (shape === 1) return { bytes: Buffer.alloc(length, 0xff), label: `0xff×${length}` };
  if (shape === 2) {
    const parts: Buffer[] = [];
    let size = 0;
    while (size < length) {
      const part = randomField(rng, rng.range(1, 40));
      parts.push(part);
      size += part.length;
    }
    return { bytes: Buffer.concat(parts), label: `random-fields×${parts.length}` };
  }
  return { bytes: rng.bytes(length), label: `random×${length}` };
}

/** A field with a random number and wire type and a payload that may or may not fit it. */
function randomField(rng: SeededRandom, field: number): Buffer {
  const wt = rng.int(8);
  const payload =
    wt === WireType.varint
      ? varint(rng.pick(EXTREME_VARINTS))
      : wt === WireType.fixed64
        ? rng.bytes(8)
        : wt === WireType.fixed32
          ? rng.bytes(4)
          : wt === WireType.len
            ? Buffer.concat([varint(rng.int(40)), rng.bytes(rng.int(40))])
            : rng.bytes(rng.int(4));
  return Buffer.concat([tag(field, wt), payload]);
}

/** A field of `spec` written with a wire type other than its own. */
export function wrongWireType(
  base: Uint8Array,
  fields: readonly FieldSpec[],
  rng: SeededRandom,
): Mutated {
  const spec = fields.length === 0 ? undefined : rng.pick(fields);
  const no = spec?.no ?? rng.range(1, 8);
  const own =
    spec === undefined
      ? -1
      : spec.type === "uint64" || spec.type === "bool" || spec.type === "int32"
        ? 0
        : 2;
  let wt = rng.int(8);
  if (wt === own) wt = (wt + 1 + rng.int(7)) % 8;
  let field: Buffer;
  switch (wt) {
    case WireType.varint:
      field = varintField(no, rng.pick(EXTREME_VARINTS));
      break;
    case WireType.fixed64:
      field = fixed64Field(no, BigInt(rng.u32()) << 20n);
      break;
    case WireType.len:
      field = lenField(no, rng.bytes(rng.int(48)));
      break;
    case WireType.fixed32:
      field = fixed32Field(no, rng.u32());
      break;
    case WireType.startGroup:
      field = rng.chance(0.5)
        ? Buffer.concat([tag(no, 3), varintField(1, 1), tag(no, 4)])
        : tag(no, 3); // never closed
      break;
    case WireType.endGroup:
      field = tag(no, 4);
      break;
    default:
      field = Buffer.concat([tag(no, wt), rng.bytes(rng.int(8))]);
  }
  const where = rng.int(3);
  const bytes =
    where === 0
      ? Buffer.concat([field, base])
      : where === 1
        ? Buffer.concat([base, field])
        : Buffer.concat([field]);
  return {
    bytes,
    label: `${spec?.name ?? `field ${no}`} as wire type ${wt}${where === 2 ? " alone" : ""}`,
  };
}

/**
 * An extreme varint in a numeric field (expected_version, max_value_bytes,
 * page_size, bools, extension numbers), or a lying or huge length on a
 * length-delimited one; appended so that it overrides the valid value.
 */
export function hugeVarint(
  base: Uint8Array,
  fields: readonly FieldSpec[],
  rng: SeededRandom,
): Mutated {
  const numeric = fields.filter(
    (f) => f.type === "uint64" || f.type === "bool" || f.type === "int32",
  );
  const nestedNumeric = fields.flatMap((f) =>
    (f.fields ?? [])
      .filter((n) => n.type !== "string" && n.type !== "bytes")
      .map((n) => ({ f, n })),
  );
  const pickNumeric = numeric.length > 0 && rng.chance(0.7);
  if (pickNumeric) {
    const spec = rng.pick(numeric);
    const value = rng.pick(EXTREME_VARINTS);
    const form = rng.int(4);
    const encoded =
      form === 0
        ? overlongVarint(value, 11) // past protobuf's 10-byte maximum
        : form === 1
          ? Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]) // > 2^64
          : varint(value);
    const field = Buffer.concat([tag(spec.no, 0), encoded]);
    const label = `${spec.name}=${form === 0 ? "overlong " : form === 1 ? "beyond-2^64 " : ""}${value}`;
    return { bytes: Buffer.concat([base, field]), label };
  }
  if (nestedNumeric.length > 0 && rng.chance(0.5)) {
    const { f, n } = rng.pick(nestedNumeric);
    const value = rng.pick(EXTREME_VARINTS);
    return {
      bytes: Buffer.concat([base, lenField(f.no, varintField(n.no, value))]),
      label: `${f.name}.${n.name}=${value}`,
    };
  }
  const lenFields = fields.filter(
    (f) => f.type !== "uint64" && f.type !== "bool" && f.type !== "int32",
  );
  const spec = lenFields.length === 0 ? { no: 1, name: "field 1" } : rng.pick(lenFields);
  const claimed = rng.pick([2n ** 31n, 2n ** 32n - 1n, 2n ** 53n, 2n ** 64n - 1n, 1_000_000n]);
  return {
    bytes: Buffer.concat([base, lyingLenField(spec.no, claimed, rng.bytes(rng.int(16)))]),
    label: `${spec.name} length ${claimed}`,
  };
}

/** Garbage inside nested messages, deep nesting, group bombs. */
export function nestedGarbage(
  base: Uint8Array,
  fields: readonly FieldSpec[],
  rng: SeededRandom,
): Mutated {
  const messages = fields.filter((f) => f.type === "message");
  const spec = messages.length > 0 ? rng.pick(messages) : { no: rng.range(1, 8), name: "field" };
  const kind = rng.int(5);
  if (kind === 0) {
    const depth = rng.pick([10, 100, 101, 1000, 5000]);
    return {
      bytes: Buffer.concat([base, nestedBomb(spec.no, depth, rng.bytes(4))]),
      label: `${spec.name} nested ${depth} deep`,
    };
  }
  if (kind === 1) {
    const depth = rng.pick([50, 99, 100, 101, 5000, 20000]);
    return {
      bytes: Buffer.concat([base, groupBomb(rng.range(6, 30), depth)]),
      label: `group bomb ${depth}`,
    };
  }
  if (kind === 2) {
    return {
      bytes: Buffer.concat([base, lenField(spec.no, rng.bytes(rng.range(1, 200)))]),
      label: `${spec.name} holds random bytes`,
    };
  }
  if (kind === 3) {
    const inner = Buffer.concat(
      Array.from({ length: rng.range(1, 6) }, () => randomField(rng, rng.range(1, 5))),
    );
    return {
      bytes: Buffer.concat([base, lenField(spec.no, inner)]),
      label: `${spec.name} holds mistyped fields`,
    };
  }
  const count = rng.pick([17, 1001, 5000]);
  const element = lenField(
    spec.no,
    Buffer.concat([lenField(1, rng.bytes(32)), lenField(2, rng.bytes(8))]),
  );
  return {
    bytes: Buffer.concat([base, ...Array.from({ length: count }, () => element)]),
    label: `${spec.name} repeated ${count}×`,
  };
}

/** Unknown fields (numbers the schema does not use, up to 2^29-1) of every wire type. */
export function unknownFields(base: Uint8Array, rng: SeededRandom): Mutated {
  const parts: Buffer[] = [];
  const n = rng.range(1, 12);
  for (let i = 0; i < n; i++) {
    const no = rng.pick([9, 15, 16, 100, 2047, 2048, 19000, 19999, 65535, 2 ** 29 - 1]);
    const wt = rng.pick([0, 1, 2, 5, 3]);
    if (wt === 3) parts.push(Buffer.concat([tag(no, 3), varintField(1, 7), tag(no, 4)]));
    else if (wt === 2) parts.push(lenField(no, rng.bytes(rng.pick([0, 5, 300, 20000]))));
    else parts.push(randomField(rng, no));
  }
  const bytes = rng.chance(0.5) ? Buffer.concat([base, ...parts]) : Buffer.concat([...parts, base]);
  return { bytes, label: `${n} unknown fields` };
}
