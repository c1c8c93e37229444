import { isUtf8 } from "node:buffer";
import {
  FRAME_FIXED_LENGTH,
  HEADER_LENGTH,
  KIND_BYTES,
  KIND_TEXT,
  MAX_KEY_NAME_BYTES,
  MAX_VALUE_BYTES,
  paddedLength,
  TAG_LENGTH,
} from "./format-v1.js";

/**
 * The plaintext inside an envelope: kind ‖ u16be name length ‖ name ‖ u32be value length ‖
 * value ‖ zero padding to a bucket. Carrying the name lets the owner list and re-seal entries
 * (the server only has ids); padding hides which provider a token came from by its length.
 */

/**
 * What a frame says: the kind byte, the key name and the value, exactly as sealed. The byte
 * fields are views into the frame: copy what you keep before zeroing it.
 */
export interface DecodedFrame {
  kind: "text" | "bytes";
  keyName: string;
  nameBytes: Buffer;
  value: Buffer;
}

// fatal: malformed UTF-8 is a bad frame, not U+FFFD; ignoreBOM: keep a leading U+FEFF as data.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Builds a padded frame. Inputs must already be validated (see seal): a string value must be
 * well-formed, and `valueLength` its UTF-8 length (or the array's length).
 *
 * A string is encoded straight into the frame: no intermediate copy of the plaintext is left
 * behind unzeroed, and a 1 MiB text value is encoded once instead of encoded and copied.
 *
 * @throws never for validated inputs.
 * @example
 * ```ts
 * const frame = encodeFrame(KIND_TEXT, Buffer.from("gh:42"), "gho_…");
 * ```
 */
export function encodeFrame(
  kind: number,
  nameBytes: Uint8Array,
  value: string | Uint8Array,
  valueLength = typeof value === "string" ? Buffer.byteLength(value, "utf8") : value.length,
): Buffer {
  const valueOffset = FRAME_FIXED_LENGTH + nameBytes.length;
  const frame = Buffer.alloc(paddedLength(valueOffset + valueLength)); // zeros: the padding
  frame[0] = kind;
  frame.writeUInt16BE(nameBytes.length, 1);
  frame.set(nameBytes, 3);
  frame.writeUInt32BE(valueLength, 3 + nameBytes.length);
  if (typeof value === "string") frame.write(value, valueOffset, valueLength, "utf8");
  else frame.set(value, valueOffset);
  return frame;
}

/**
 * Parses a decrypted frame, without copying; `undefined` for anything seal could not have
 * produced.
 *
 * Strict on purpose (known kind, lengths in range, well-formed UTF-8, canonical padded
 * length, every padding byte zero): one valid plaintext per (kind, name, value) leaves no
 * room to smuggle data or to disagree with another implementation.
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
  const nameLength = frame.readUInt16BE(1);
  if (nameLength === 0 || nameLength > MAX_KEY_NAME_BYTES) return undefined;
  if (FRAME_FIXED_LENGTH + nameLength > frame.length) return undefined;
  const valueLength = frame.readUInt32BE(3 + nameLength);
  const used = FRAME_FIXED_LENGTH + nameLength + valueLength;
  if (valueLength > MAX_VALUE_BYTES || used > frame.length) return undefined;
  if (paddedLength(used) !== frame.length) return undefined;
  let padding = 0;
  for (let i = used; i < frame.length; i++) padding |= frame[i]!;
  if (padding !== 0) return undefined;
  const nameBytes = frame.subarray(3, 3 + nameLength);
  const value = frame.subarray(7 + nameLength, used);
  // isUtf8 checks natively without building a string: decoding the value just to check it
  // would leave an unzeroable copy of the secret in the heap.
  if (kindByte === KIND_TEXT && !isUtf8(value)) return undefined;
  let keyName: string;
  try {
    keyName = utf8.decode(nameBytes);
  } catch {
    return undefined;
  }
  return { kind: kindByte === KIND_TEXT ? "text" : "bytes", keyName, nameBytes, value };
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
