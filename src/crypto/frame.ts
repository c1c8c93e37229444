import { isUtf8 } from "node:buffer";
import {
  FRAME_FIXED_LENGTH,
  FRAME_NAME_LENGTH_OFFSET,
  FRAME_NAME_OFFSET,
  FRAME_WRITTEN_AT_OFFSET,
  HEADER_LENGTH,
  KIND_BYTES,
  KIND_TEXT,
  MAX_KEY_NAME_BYTES,
  MAX_VALUE_BYTES,
  MAX_WRITTEN_AT_MS,
  paddedLength,
  TAG_LENGTH,
} from "./format-v1.js";
import { decodeStrictUtf8 } from "./strict-utf8.js";

/**
 * The plaintext inside an envelope: kind ‖ u64be written-at ‖ u16be name length ‖ name ‖
 * u32be value length ‖ value ‖ zero padding to a bucket. Carrying the name lets the owner
 * list and re-seal entries (the server only has ids); the sealer's clock lets a reader see
 * how old a value is (a server can replay an old one; docs/sealing.md §9.2); padding hides
 * which provider a token came from by its length.
 */

/**
 * What a frame says: the kind byte, the write time, the key name and the value, exactly as
 * sealed. The byte fields are views into the frame: copy what you keep before zeroing it.
 */
export interface DecodedFrame {
  kind: "text" | "bytes";
  /** The sealer's clock when it sealed, in Unix milliseconds (0 to MAX_WRITTEN_AT_MS). */
  writtenAt: number;
  keyName: string;
  nameBytes: Buffer;
  value: Buffer;
}

const MAX_WRITTEN_AT = BigInt(MAX_WRITTEN_AT_MS);

/**
 * Builds a padded frame. Inputs must already be validated (see seal): `writtenAt` an integer
 * from 0 to MAX_WRITTEN_AT_MS, a string value well-formed, and `valueLength` its UTF-8 length
 * (or the array's length).
 *
 * A string is encoded straight into the frame: no intermediate copy of the plaintext is left
 * behind unzeroed, and a 1 MiB text value is encoded once instead of encoded and copied.
 *
 * @throws never for validated inputs.
 * @example
 * ```ts
 * const frame = encodeFrame(KIND_TEXT, Date.now(), Buffer.from("gh:42"), "gho_…");
 * ```
 */
export function encodeFrame(
  kind: number,
  writtenAt: number,
  nameBytes: Uint8Array,
  value: string | Uint8Array,
  valueLength = typeof value === "string" ? Buffer.byteLength(value, "utf8") : value.length,
): Buffer {
  const valueOffset = FRAME_FIXED_LENGTH + nameBytes.length;
  const frame = Buffer.alloc(paddedLength(valueOffset + valueLength)); // zeros: the padding
  frame[0] = kind;
  frame.writeBigUInt64BE(BigInt(writtenAt), FRAME_WRITTEN_AT_OFFSET);
  frame.writeUInt16BE(nameBytes.length, FRAME_NAME_LENGTH_OFFSET);
  frame.set(nameBytes, FRAME_NAME_OFFSET);
  frame.writeUInt32BE(valueLength, FRAME_NAME_OFFSET + nameBytes.length);
  if (typeof value === "string") frame.write(value, valueOffset, valueLength, "utf8");
  else frame.set(value, valueOffset);
  return frame;
}

/**
 * Parses a decrypted frame, without copying; `undefined` for anything seal could not have
 * produced.
 *
 * Strict on purpose (known kind, a write time a Date can hold, lengths in range, well-formed
 * UTF-8, canonical padded length, every padding byte zero): one valid plaintext per (kind,
 * time, name, value) leaves no room to smuggle data or to disagree with another
 * implementation.
 *
 * @throws never.
 * @example
 * ```ts
 * const decoded = decodeFrame(plaintext);
 * if (decoded === undefined) throw decryptionFailed();
 * ```
 */
export function decodeFrame(frame: Buffer): DecodedFrame | undefined {
  if (frame.length < FRAME_FIXED_LENGTH + 1) return undefined;
  const kindByte = frame[0];
  if (kindByte !== KIND_TEXT && kindByte !== KIND_BYTES) return undefined;
  const writtenAt = frame.readBigUInt64BE(FRAME_WRITTEN_AT_OFFSET);
  if (writtenAt > MAX_WRITTEN_AT) return undefined;
  const nameLength = frame.readUInt16BE(FRAME_NAME_LENGTH_OFFSET);
  if (nameLength === 0 || nameLength > MAX_KEY_NAME_BYTES) return undefined;
  if (FRAME_FIXED_LENGTH + nameLength > frame.length) return undefined;
  const valueLength = frame.readUInt32BE(FRAME_NAME_OFFSET + nameLength);
  const used = FRAME_FIXED_LENGTH + nameLength + valueLength;
  if (valueLength > MAX_VALUE_BYTES || used > frame.length) return undefined;
  if (paddedLength(used) !== frame.length) return undefined;
  let padding = 0;
  for (let i = used; i < frame.length; i++) padding |= frame[i]!;
  if (padding !== 0) return undefined;
  const nameBytes = frame.subarray(FRAME_NAME_OFFSET, FRAME_NAME_OFFSET + nameLength);
  const value = frame.subarray(FRAME_FIXED_LENGTH + nameLength, used);
  // isUtf8 checks natively without building a string: decoding the value just to check it
  // would leave an unzeroable copy of the secret in the heap.
  if (kindByte === KIND_TEXT && !isUtf8(value)) return undefined;
  // Malformed UTF-8 in a key name is a bad frame.
  const keyName = decodeStrictUtf8(nameBytes);
  if (keyName === undefined) return undefined;
  return {
    kind: kindByte === KIND_TEXT ? "text" : "bytes",
    writtenAt: Number(writtenAt),
    keyName,
    nameBytes,
    value,
  };
}

/**
 * The exact envelope length seal produces for a name and value of these UTF-8 byte lengths.
 *
 * Lets a client refuse a value locally, with a clear message, when the envelope would exceed
 * the store's `max_value_bytes` (a limit on the envelope, not the plaintext).
 *
 * @throws never.
 * @example
 * ```ts
 * sealedLength(5, 40); // 345: a 40-byte token under a 5-byte name fills the 256-byte bucket
 * ```
 */
export function sealedLength(keyNameBytes: number, valueBytes: number): number {
  return HEADER_LENGTH + paddedLength(FRAME_FIXED_LENGTH + keyNameBytes + valueBytes) + TAG_LENGTH;
}
