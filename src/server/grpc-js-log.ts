import { logVerbosity, setLogger, setLogVerbosity } from "@grpc/grpc-js";
import type { Logger } from "pino";

/**
 * grpc-js prints its own lines with console.error, outside the server's log
 * and its redaction. Some carry what a client sent: "Failed to add metadata
 * entry authorization: Bearer\thxk_…" holds a whole valid token, and with
 * GRPC_TRACE set a trace line holds every request header. This routes every
 * grpc-js line through the server's logger, with anything that could be a
 * credential cut out, and remembers which request header grpc-js dropped so
 * the call can tell its client what was wrong.
 *
 * grpc-js has one logger per process; the server that started last owns it.
 */

/** The header grpc-js dropped while parsing the request being set up right now, if any. */
let droppedHeader: string | undefined;

/**
 * Routes grpc-js's log lines to `log` (errors at warn: they describe a
 * client's bad input or a transport event, never the server's own failure).
 *
 * @example
 * routeGrpcJsLog(log);
 */
export function routeGrpcJsLog(log: Logger): void {
  const write = (level: "warn" | "info" | "debug", args: unknown[]): void => {
    const text = args.map(String).join(" ");
    const dropped = DROPPED_METADATA.exec(text);
    if (dropped !== null) {
      // The value is never logged: it is the client's text, and may be its token.
      noteDroppedHeader(dropped[1] ?? "");
      log.warn(
        { header: headerName(dropped[1] ?? "") },
        "dropped a request header whose value has characters gRPC does not allow",
      );
      return;
    }
    if (!log.isLevelEnabled(level)) return;
    log[level]({ source: "grpc-js" }, redactCredentials(text).slice(0, MAX_LINE));
  };
  setLogger({
    error: (...args: unknown[]) => write("warn", args),
    info: (...args: unknown[]) => write("info", args),
    debug: (...args: unknown[]) => write("debug", args),
  });
  // Traces (GRPC_TRACE) and info lines only when the operator asked for them.
  if (process.env.GRPC_VERBOSITY === undefined && process.env.GRPC_NODE_VERBOSITY === undefined) {
    setLogVerbosity(logVerbosity.ERROR);
  }
}

/**
 * The name of the header grpc-js dropped while it parsed the request whose
 * call is being set up, then forgets it. grpc-js parses a call's headers and
 * builds its interceptors in one synchronous step, so the first interceptor
 * asking here gets its own call's header and no other.
 */
export function takeDroppedHeader(): string | undefined {
  const header = droppedHeader;
  droppedHeader = undefined;
  return header;
}

function noteDroppedHeader(key: string): void {
  droppedHeader = headerName(key);
  // A note nobody took in this turn (a line not tied to a call) must not reach the next call.
  queueMicrotask(() => {
    droppedHeader = undefined;
  });
}

const DROPPED_METADATA = /^Failed to add metadata entry ([^:]*):/;
const MAX_LINE = 500;

/** A header name as logged: printable, short, lowercased. */
function headerName(key: string): string {
  return key
    .toLowerCase()
    .replace(/[^\x21-\x7e]/g, "?")
    .slice(0, 64);
}

/**
 * Cuts anything that could be a credential out of a line: bearer values,
 * Hexclave tokens wherever they appear, and whatever follows an
 * `authorization` key (a bootstrap admin token can be any text).
 *
 * @example
 * redactCredentials('{"authorization":["Bearer s3cret"]}'); // '{"authorization":[redacted]'
 */
export function redactCredentials(text: string): string {
  return text
    .replace(/(authorization)[^A-Za-z0-9]{0,8}[^,}\]\n]*/gi, "$1: [redacted]")
    .replace(/bearer[\s\u00a0]+\S+/gi, "Bearer [redacted]")
    .replace(/hxk_[^\s"',\]}]*/g, "hxk_[redacted]");
}
