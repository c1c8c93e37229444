import type { ListedEntry } from "../client/client-options.js";

/**
 * The JSON Lines format of `hexclave export` and `hexclave import`: one entry
 * per line, a JSON object with
 *
 * - `key`: the key name;
 * - `value` (text, stored as a string) or `valueBase64` (bytes, stored as a
 *   Uint8Array; standard base64) — exactly one, and the field says which;
 * - `writtenAt`: when the value was written (ISO 8601), kept by import;
 * - `expiresAt`: when it expires (ISO 8601), or null for never.
 *
 * Nothing else: an unknown field is refused, so a typo cannot drop data.
 */

/** A line that parsed: what import writes. */
export interface ImportedEntry {
  /** 1-based line number in the input, for messages. */
  readonly line: number;
  readonly key: string;
  readonly value: string | Uint8Array;
  readonly writtenAt: Date | undefined;
  readonly expiresAt: Date | undefined;
}

const FIELDS = new Set(["key", "value", "valueBase64", "writtenAt", "expiresAt"]);
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/;

/**
 * A value as JSON: `{ value }` for text, `{ valueBase64 }` for bytes.
 *
 * @example
 * jsonValue("bytes", Buffer.from([0xff])); // { valueBase64: "/w==" }
 */
export function jsonValue(
  storedAs: "text" | "bytes",
  bytes: Uint8Array,
): { value: string } | { valueBase64: string } {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return storedAs === "text"
    ? { value: buffer.toString("utf8") }
    : { valueBase64: buffer.toString("base64") };
}

/**
 * One exported line (with its newline) for an entry listed as bytes.
 *
 * @example
 * process.stdout.write(entryLine(entry));
 */
export function entryLine(entry: ListedEntry<Uint8Array>): string {
  return `${JSON.stringify({
    key: entry.key,
    ...jsonValue(entry.storedAs, entry.value),
    writtenAt: entry.writtenAt.toISOString(),
    expiresAt: entry.expiresAt?.toISOString() ?? null,
  })}\n`;
}

/**
 * Parses a whole export. Every line is checked before anything is written,
 * so a malformed file changes nothing. Messages name line numbers and fields,
 * never a key or a value. Blank lines are skipped.
 *
 * @example
 * const { entries, errors } = parseEntryLines(text);
 */
export function parseEntryLines(text: string): {
  entries: ImportedEntry[];
  errors: string[];
} {
  const entries: ImportedEntry[] = [];
  const errors: string[] = [];
  const firstLineOf = new Map<string, number>();
  for (const [index, raw] of text.split("\n").entries()) {
    const line = index + 1;
    if (raw.trim() === "") continue;
    const parsed = parseLine(raw, line);
    if (typeof parsed === "string") {
      errors.push(`line ${line}: ${parsed}`);
      continue;
    }
    const first = firstLineOf.get(parsed.key);
    if (first !== undefined) {
      errors.push(`line ${line}: the same key as line ${first}`);
      continue;
    }
    firstLineOf.set(parsed.key, line);
    entries.push(parsed);
  }
  return { entries, errors };
}

/** The entry on one line, or what is wrong with it. */
function parseLine(raw: string, line: number): ImportedEntry | string {
  let object: unknown;
  try {
    object = JSON.parse(raw);
  } catch {
    // JSON.parse's message quotes the input: it could hold a secret.
    return "not valid JSON";
  }
  if (typeof object !== "object" || object === null || Array.isArray(object)) {
    return "expected a JSON object";
  }
  const fields = object as Record<string, unknown>;
  const unknown = Object.keys(fields).find((f) => !FIELDS.has(f));
  if (unknown !== undefined) {
    return `unknown field ${JSON.stringify(unknown.slice(0, 40))} (expected key, value or valueBase64, writtenAt, expiresAt)`;
  }
  const { key, value, valueBase64, writtenAt, expiresAt } = fields;
  if (typeof key !== "string" || key === "") return '"key" must be a non-empty string';
  if ((value === undefined) === (valueBase64 === undefined)) {
    return 'give exactly one of "value" (text) and "valueBase64" (bytes)';
  }
  let decoded: string | Uint8Array;
  if (value !== undefined) {
    if (typeof value !== "string") return '"value" must be a string (bytes go in "valueBase64")';
    decoded = value;
  } else {
    if (typeof valueBase64 !== "string" || !BASE64.test(valueBase64)) {
      return '"valueBase64" must be standard base64';
    }
    decoded = new Uint8Array(Buffer.from(valueBase64, "base64"));
  }
  const written = timeField(writtenAt, "writtenAt", false);
  if (typeof written === "string") return written;
  const expires = timeField(expiresAt, "expiresAt", true);
  if (typeof expires === "string") return expires;
  return { line, key, value: decoded, writtenAt: written, expiresAt: expires };
}

/** An optional ISO 8601 time field (null allowed when `nullable`), or what is wrong with it. */
function timeField(value: unknown, name: string, nullable: boolean): Date | undefined | string {
  if (value === undefined || (nullable && value === null)) return undefined;
  const date = typeof value === "string" && ISO_TIME.test(value) ? new Date(value) : undefined;
  if (date === undefined || !Number.isFinite(date.getTime())) {
    return `"${name}" must be a time such as "2026-01-31T12:00:00.000Z"${nullable ? ", or null" : ""}`;
  }
  return date;
}
