import { HexclaveError } from "../client/hexclave-error.js";

/** An error the CLI reports as one line; thrown by commands for bad usage. */
export class CliError extends Error {
  override readonly name = "CliError";
}

/**
 * Prints one line saying what went wrong and exits non-zero. Expected errors
 * (usage, typed client errors, configuration) print their message; anything
 * else prints its message too, as the operator is the one reading it.
 */
export function reportAndExit(error: unknown): never {
  let line: string;
  if (error instanceof HexclaveError) line = `${error.code}: ${error.message}`;
  else if (error instanceof Error) line = error.message;
  else line = String(error);
  process.stderr.write(`hexclave: ${line.replace(/\s+/g, " ").trim()}\n`);
  process.exit(1);
}

/** Prints data: as JSON with --json, else as the given human-readable lines. */
export function printData(json: boolean, data: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`);
}

/** Formats rows as aligned columns. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ");
  return [line(header), ...rows.map(line)].join("\n");
}
