/** One gRPC message as framed on the wire. */
export interface WireMessage {
  readonly streamId: number;
  /** The message's compressed flag (the first byte of its 5-byte prefix). */
  readonly compressed: boolean;
  readonly payload: Buffer;
}

/** What a client sends before its first HTTP/2 frame (RFC 9113 §3.4). */
const CLIENT_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "ascii");
const DATA_FRAME = 0x0;
const PADDED = 0x8;

/**
 * Splits one direction of an HTTP/2 connection into its gRPC messages: DATA
 * frames per stream, then the length-prefixed messages inside them. Enough
 * of HTTP/2 to check what gRPC actually put on the wire.
 *
 * @example
 * const messages = grpcMessages(connection.up, { fromClient: true });
 */
export function grpcMessages(bytes: Buffer, options: { fromClient: boolean }): WireMessage[] {
  let offset = 0;
  if (options.fromClient) {
    if (!bytes.subarray(0, CLIENT_PREFACE.length).equals(CLIENT_PREFACE)) {
      throw new Error(
        "not an HTTP/2 client connection (no preface): is TLS or compression in the way?",
      );
    }
    offset = CLIENT_PREFACE.length;
  }
  const streams = new Map<number, Buffer[]>();
  while (offset + 9 <= bytes.length) {
    const length = bytes.readUIntBE(offset, 3);
    const type = bytes[offset + 3];
    const flags = bytes[offset + 4] ?? 0;
    const streamId = bytes.readUInt32BE(offset + 5) & 0x7fffffff;
    let payload = bytes.subarray(offset + 9, offset + 9 + length);
    if (type === DATA_FRAME) {
      if ((flags & PADDED) !== 0) payload = payload.subarray(1, payload.length - (payload[0] ?? 0));
      streams.set(streamId, [...(streams.get(streamId) ?? []), payload]);
    }
    offset += 9 + length;
  }
  const messages: WireMessage[] = [];
  for (const [streamId, parts] of streams) {
    const data = Buffer.concat(parts);
    let p = 0;
    while (p + 5 <= data.length) {
      const size = data.readUInt32BE(p + 1);
      messages.push({
        streamId,
        compressed: data[p] !== 0,
        payload: data.subarray(p + 5, p + 5 + size),
      });
      p += 5 + size;
    }
  }
  return messages;
}
