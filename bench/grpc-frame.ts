/**
 * gRPC's length-prefixed message framing, as it travels in HTTP/2 DATA frames:
 * one flag byte (0 = not compressed) ‖ u32be message length ‖ the protobuf
 * bytes. h2load sends this body verbatim, so the server does exactly the work
 * it does for a real client's call.
 */

/** Bytes the frame adds in front of the message. */
export const GRPC_FRAME_HEADER_BYTES = 5;

/**
 * Frames one protobuf message as an uncompressed gRPC message.
 *
 * @throws RangeError if the message is larger than a u32 can describe.
 * @example
 * const body = grpcFrame(GetValueRequest.encode(request).finish());
 * writeFileSync("get.bin", body); // h2load -d get.bin …
 */
export function grpcFrame(message: Uint8Array): Buffer {
  if (message.length > 0xffff_ffff) {
    throw new RangeError(`a gRPC message is at most 4 GiB, got ${message.length} bytes`);
  }
  const frame = Buffer.alloc(GRPC_FRAME_HEADER_BYTES + message.length);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, GRPC_FRAME_HEADER_BYTES);
  return frame;
}
