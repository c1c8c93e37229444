/**
 * What must never reach an attacker (responses) or an operator's log
 * pipeline (server output): credentials, stack traces, SQL. One place, so
 * the fuzzer, the header flood and the tests agree on what a leak is.
 */

/** A whole Hexclave access token (the "hxk_…" in error messages is only its prefix). */
export const ACCESS_TOKEN = /hxk_[0-9a-f]{16}_[A-Za-z0-9_-]{8,}/;

/** A stack frame or a source location. */
export const STACK_TRACE =
  /(^|\\n|\n)\s{2,}at\s+\S|\bat\s+[\w.<>$]+\s+\((file:|node:|\/)|[\w/.-]+\.(ts|js|mjs|cjs):\d+/;

/**
 * SQL or SQLite text. Written to need SQL's shape ("delete from entries
 * where"), so English in the API's own comments ("the store to delete from.")
 * served by reflection is not a leak.
 */
export const SQL_TEXT =
  /\b(select\s+[\w*"`,. ()]+\s+from\s+["`\w]|insert\s+(or\s+\w+\s+)?into\s+["`\w]|update\s+["`\w]+\s+set\s|delete\s+from\s+["`\w]+\s*(where\b|;|$)|create\s+(table|index)\s|SQLITE_[A-Z_]+|sqlite3?\b|no such (table|column)|constraint failed|syntax error)/i;

/** One way a text leaks. */
export type LeakKind = "access-token" | "known-secret" | "stack-trace" | "sql";

/** Secrets the attacker knows exist in this run (the admin token, tokens it created or sent). */
export interface KnownSecrets {
  readonly values: readonly { readonly what: string; readonly text: string }[];
}

/**
 * The kinds of leak in `text`: a token (by shape or one of `known`), a stack
 * trace, SQL. `checks` picks which to look for.
 *
 * @example
 * findLeaks(grpcMessage, known, ["access-token", "known-secret", "stack-trace", "sql"]);
 */
export function findLeaks(
  text: string,
  known: KnownSecrets,
  checks: readonly LeakKind[],
): { kind: LeakKind; what: string }[] {
  const found: { kind: LeakKind; what: string }[] = [];
  if (checks.includes("access-token")) {
    const match = ACCESS_TOKEN.exec(text);
    if (match !== null) found.push({ kind: "access-token", what: `${match[0].slice(0, 24)}…` });
  }
  if (checks.includes("known-secret")) {
    for (const { what, text: secret } of known.values) {
      if (secret.length >= 12 && text.includes(secret)) found.push({ kind: "known-secret", what });
    }
  }
  if (checks.includes("stack-trace")) {
    const match = STACK_TRACE.exec(text);
    if (match !== null) found.push({ kind: "stack-trace", what: match[0].trim().slice(0, 60) });
  }
  if (checks.includes("sql")) {
    const match = SQL_TEXT.exec(text);
    if (match !== null) found.push({ kind: "sql", what: match[0].slice(0, 60) });
  }
  return found;
}

/** A server log line that reports a server fault: the one place a stack trace belongs. */
export function isServerFaultLine(line: string): boolean {
  try {
    const entry = JSON.parse(line) as { level?: unknown; msg?: unknown };
    return (
      typeof entry.level === "number" &&
      entry.level >= 50 &&
      (entry.msg === "call failed" ||
        entry.msg === "background task failed" ||
        String(entry.msg).startsWith("the writer thread failed"))
    );
  } catch {
    return false;
  }
}

/** A leak found in the server's output. */
export interface LogLeak {
  readonly stream: "stdout" | "stderr";
  readonly kind: LeakKind;
  readonly what: string;
  /** The line, with every known secret masked, shortened. */
  readonly line: string;
}

/**
 * Scans a server's stdout and stderr: no line may hold a token; no line may
 * hold a stack trace unless it is a server-fault line on stdout.
 *
 * @example
 * const leaks = scanServerOutput(server.output, known);
 */
export function scanServerOutput(
  output: { readonly stdout: readonly string[]; readonly stderr: readonly string[] },
  known: KnownSecrets,
): LogLeak[] {
  const leaks: LogLeak[] = [];
  for (const stream of ["stdout", "stderr"] as const) {
    for (const line of output[stream]) {
      const fault = stream === "stdout" && isServerFaultLine(line);
      const checks: LeakKind[] = fault
        ? ["access-token", "known-secret"]
        : ["access-token", "known-secret", "stack-trace"];
      for (const leak of findLeaks(line, known, checks)) {
        leaks.push({ stream, ...leak, line: mask(line, known).slice(0, 300) });
      }
    }
  }
  return leaks;
}

/** `text` with every known secret replaced by its name, for printing a leak without repeating it. */
export function mask(text: string, known: KnownSecrets): string {
  let out = text;
  for (const { what, text: secret } of known.values) {
    if (secret.length >= 12) out = out.replaceAll(secret, `<${what}>`);
  }
  return out.replace(new RegExp(ACCESS_TOKEN.source, "g"), "<hxk token>");
}
