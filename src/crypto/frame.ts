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

/** What a frame says: the kind byte, the key name and the value, exactly as sealed. */
export interface DecodedFrame {
  kind: "text" | "bytes";
  keyName: string;
  nameBytes: Buffer;
  value: Buffer;
}

// fatal: malformed UTF-8 is a bad frame, not U+FFFD; ignoreBOM: keep a leading U+FEFF as data.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Builds a padded frame. Inputs must already be validated (see seal).
 *
 * @throws never for validated inputs.
 * @example
 * ```ts
 * const frame = encodeFrame(KIND_TEXT, Buffer.from("gh:42"), Buffer.from("gho_…"));
 * ```
 */
export function encodeFrame(kind: number, nameBytes: Uint8Array, value: Uint8Array): Buffer {
  const used = FRAME_FIXED_LENGTH + nameBytes.length + value.length;
  const frame = Buffer.alloc(paddedLength(used)); // zero-filled: the padding is already zeros
  frame[0] = kind;
  frame.writeUInt16BE(nameBytes.length, 1);
  frame.set(nameBytes, 3);
  frame.writeUInt32BE(value.length, 3 + nameBytes.length);
  frame.set(value, 7 + nameBytes.length);
  return frame;
}

/**
 * Parses a decrypted frame; `undefined` for anything seal could not have produced.
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
  try {
    const keyName = utf8.decode(nameBytes);
    if (kindByte === KIND_TEXT) utf8.decode(value);
    return {
      kind: kindByte === KIND_TEXT ? "text" : "bytes",
      keyName,
      nameBytes: Buffer.from(nameBytes),
      value: Buffer.from(value),
    };
  } catch {
    return undefined;
  }
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
 * sealedLength(5, 40); // 153: a 40-byte token under a 5-byte name fills the 64-byte bucket
 * ```
 */
export function sealedLength(keyNameBytes: number, valueBytes: number): number {
  return HEADER_LENGTH + paddedLength(FRAME_FIXED_LENGTH + keyNameBytes + valueBytes) + TAG_LENGTH;
}
