// fatal: malformed UTF-8 is refused, never turned into U+FFFD; ignoreBOM: a leading U+FEFF is data.
const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Decodes well-formed UTF-8 exactly (a leading byte-order mark is kept as
 * U+FEFF); anything else is `undefined`, never a string with U+FFFD in it.
 * The one strict decoder of the project: key names in frames, values read as
 * text, CLI input.
 *
 * @example
 * decodeStrictUtf8(Buffer.from("gh:42")); // "gh:42"
 * decodeStrictUtf8(Uint8Array.of(0xff));  // undefined
 */
export function decodeStrictUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strict.decode(bytes);
  } catch {
    return undefined;
  }
}
