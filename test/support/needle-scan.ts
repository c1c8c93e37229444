/**
 * Many needles through many megabytes at once. A PostgreSQL cluster's data
 * directory is tens of megabytes (template databases, preallocated WAL) and a
 * plaintext scan looks for hundreds of encodings and windows of each value:
 * one `includes` per needle per file would read gigabytes. This reads each
 * file once, stopping only where a needle's first bytes match.
 */

/** Bytes to look for, with a label saying which form of what they are. */
export interface LabelledNeedle {
  readonly label: string;
  readonly bytes: Buffer;
}

/** Bytes of a needle indexed by value (6 bytes fit a number exactly). */
const PREFIX = 6;

/**
 * Which needles occur in which files, as "file: label" strings; empty when
 * none occurs anywhere. Exact byte matching, like `Buffer.includes`.
 *
 * @example
 * expect(scanForNeedles(await clusterFiles(dataDir), needles)).toEqual([]);
 */
export function scanForNeedles(
  files: readonly (readonly [string, Buffer])[],
  needles: readonly LabelledNeedle[],
): string[] {
  const short = needles.filter((n) => n.bytes.length < PREFIX);
  const byPrefix = new Map<number, LabelledNeedle[]>();
  const firstTwo = new Uint8Array(65_536);
  for (const n of needles) {
    if (n.bytes.length < PREFIX) continue;
    const key = n.bytes.readUIntLE(0, PREFIX);
    byPrefix.set(key, [...(byPrefix.get(key) ?? []), n]);
    firstTwo[(n.bytes[0] as number) | ((n.bytes[1] as number) << 8)] = 1;
  }
  const found: string[] = [];
  for (const [name, h] of files) {
    const seen = new Set<string>();
    for (const n of short) if (h.includes(n.bytes)) seen.add(n.label);
    const end = h.length - PREFIX;
    for (let i = 0; i <= end; i++) {
      if (firstTwo[(h[i] as number) | ((h[i + 1] as number) << 8)] === 0) continue;
      const candidates = byPrefix.get(h.readUIntLE(i, PREFIX));
      if (candidates === undefined) continue;
      for (const n of candidates) {
        const stop = i + n.bytes.length;
        if (stop <= h.length && h.compare(n.bytes, 0, n.bytes.length, i, stop) === 0) {
          seen.add(n.label);
        }
      }
    }
    for (const label of seen) found.push(`${name}: ${label}`);
  }
  return found;
}
