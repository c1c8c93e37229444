/**
 * Protobuf wire encoding by hand, so an attack can write what no generated
 * encoder would: any wire type on any field, varints of any width (including
 * overlong and unterminated ones), lengths that lie.
 */

/** The protobuf wire types, including the deprecated groups and the two unused codes. */
export const WireType = Object.freeze({
  varint: 0,
  fixed64: 1,
  len: 2,
  startGroup: 3,
  endGroup: 4,
  fixed32: 5,
  invalid6: 6,
  invalid7: 7,
});

/**
 * A base-128 varint. Negative numbers take the 10-byte two's complement form,
 * as protobuf writes a negative int32/int64.
 *
 * @example
 * varint(2n ** 64n - 1n); // ff ff ff ff ff ff ff ff ff 01
 */
export function varint(value: bigint | number): Buffer {
  let v = BigInt(value);
  if (v < 0n) v = BigInt.asUintN(64, v);
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return Buffer.from(out);
}

/**
 * A varint padded with continuation bytes to `width` bytes (protobuf readers
 * should refuse more than 10).
 *
 * @example
 * overlongVarint(1, 11); // 81 80 80 80 80 80 80 80 80 80 00
 */
export function overlongVarint(value: bigint | number, width: number): Buffer {
  const base = [...varint(value)];
  while (base.length < width) {
    base[base.length - 1] = (base[base.length - 1] as number) | 0x80;
    base.push(0);
  }
  return Buffer.from(base);
}

/** A field's tag: field number and wire type. */
export function tag(field: number, wireType: number): Buffer {
  return varint((BigInt(field) << 3n) | BigInt(wireType & 7));
}

/** A length-delimited field (string, bytes, message). */
export function lenField(field: number, payload: Uint8Array | string): Buffer {
  const bytes = typeof payload === "string" ? Buffer.from(payload) : Buffer.from(payload);
  return Buffer.concat([tag(field, WireType.len), varint(bytes.length), bytes]);
}

/** A varint field. */
export function varintField(field: number, value: bigint | number): Buffer {
  return Buffer.concat([tag(field, WireType.varint), varint(value)]);
}

/** A fixed 64-bit field. */
export function fixed64Field(field: number, value: bigint): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(BigInt.asUintN(64, value));
  return Buffer.concat([tag(field, WireType.fixed64), out]);
}

/** A fixed 32-bit field. */
export function fixed32Field(field: number, value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(value >>> 0);
  return Buffer.concat([tag(field, WireType.fixed32), out]);
}

/** A field whose length prefix claims `claimed` bytes but carries `payload`. */
export function lyingLenField(
  field: number,
  claimed: bigint | number,
  payload: Uint8Array,
): Buffer {
  return Buffer.concat([tag(field, WireType.len), varint(claimed), payload]);
}

/** `depth` start-group tags with no end: a skipper that recurses per group goes that deep. */
export function groupBomb(field: number, depth: number): Buffer {
  return Buffer.concat(Array.from({ length: depth }, () => tag(field, WireType.startGroup)));
}

/** A message nested `depth` times in field `field` of itself. */
export function nestedBomb(
  field: number,
  depth: number,
  inner: Uint8Array = Buffer.alloc(0),
): Buffer {
  let message: Buffer = Buffer.from(inner);
  for (let i = 0; i < depth; i++) message = lenField(field, message);
  return message;
}
