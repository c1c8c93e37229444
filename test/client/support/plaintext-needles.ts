/**
 * Every readable form a piece of plaintext could take on the wire or on disk:
 * raw bytes (and any 16-byte window of them), UTF-16, hex, and base64 /
 * base64url at each of the three alignments it could start at inside a
 * longer encoded run.
 */

/** One form to look for, with a label saying which. */
export interface Needle {
  readonly label: string;
  readonly bytes: Buffer;
}

/** Window of raw bytes searched for, so a value split or embedded in anything is still found. */
const WINDOW = 16;

/**
 * The needles for `name` = `plaintext`.
 *
 * @example
 * const needles = needlesFor("value", "gho_secret_token");
 */
export function needlesFor(name: string, plaintext: string | Uint8Array): Needle[] {
  const raw = Buffer.from(plaintext);
  const needles: Needle[] = [
    { label: `${name} raw`, bytes: raw },
    { label: `${name} utf16le`, bytes: Buffer.from(raw.toString("utf8"), "utf16le") },
    { label: `${name} hex`, bytes: Buffer.from(raw.toString("hex"), "ascii") },
    { label: `${name} HEX`, bytes: Buffer.from(raw.toString("hex").toUpperCase(), "ascii") },
  ];
  for (let i = 0; i + WINDOW <= raw.length; i++) {
    needles.push({ label: `${name} raw[${i}..${i + WINDOW}]`, bytes: raw.subarray(i, i + WINDOW) });
  }
  for (const encoding of ["base64", "base64url"] as const) {
    for (let shift = 0; shift < 3; shift++) {
      // Prefix `shift` bytes, encode, and keep only the characters that depend on `raw` alone.
      const encoded = Buffer.concat([Buffer.alloc(shift), raw]).toString(encoding);
      const core = encoded.slice(shift === 0 ? 0 : 4, encoded.length - 4);
      if (core.length >= 8) {
        needles.push({ label: `${name} ${encoding}@${shift}`, bytes: Buffer.from(core, "ascii") });
      }
    }
  }
  return needles;
}

/**
 * The labels of the needles found in `haystack`.
 *
 * @example
 * expect(findNeedles(capture, needles)).toEqual([]);
 */
export function findNeedles(haystack: Buffer, needles: readonly Needle[]): string[] {
  return needles.filter((n) => haystack.includes(n.bytes)).map((n) => n.label);
}
