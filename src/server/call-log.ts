import type { Logger } from "pino";
import type { CallObserver, CallRecord } from "./call-record.js";

/** Options for {@link callLog}. */
export interface CallLogOptions {
  /**
   * Refused calls logged per second at most; past it they are counted and
   * summed up in one line a second, so a flood of bad requests cannot fill
   * the disk with log lines. Server faults are always logged. Default 100.
   */
  readonly refusalsPerSecond?: number;
}

/**
 * The call log: one JSON line per refused call (info; authentication
 * failures at warn), per server fault (error, with its cause), and per
 * successful call at debug. Each line names the method, request id, status
 * code and reason, the caller's token id and store, and the peer — never a
 * token, a value or a key name.
 *
 * @example
 * const observe = callLog(log);
 */
export function callLog(log: Logger, options: CallLogOptions = {}): CallObserver {
  const limit = options.refusalsPerSecond ?? 100;
  let windowStart = 0;
  let logged = 0;
  let suppressed = 0;
  const flush = (): void => {
    if (suppressed > 0) log.warn({ suppressed }, "refused calls not logged in the last second");
    suppressed = 0;
  };
  const admit = (): boolean => {
    const now = Date.now();
    if (now - windowStart >= 1000) {
      flush();
      windowStart = now;
      logged = 0;
    }
    if (logged < limit) {
      logged += 1;
      return true;
    }
    // The first suppressed line of a window schedules the summary, even if the flood stops.
    if (suppressed === 0) setTimeout(flush, 1000 - (now - windowStart)).unref();
    suppressed += 1;
    return false;
  };
  return (record: CallRecord) => {
    const { outcome } = record;
    if (outcome.reason === "OK") {
      if (log.isLevelEnabled("debug")) log.debug(fieldsOf(record), "call");
      return;
    }
    if (outcome.serverFault) {
      log.error({ ...fieldsOf(record), err: record.error }, "call failed");
      return;
    }
    if (!admit()) return;
    if (outcome.reason.startsWith("TOKEN_"))
      log.warn(fieldsOf(record), "call refused: authentication");
    else log.info(fieldsOf(record), "call refused");
  };
}

function fieldsOf(record: CallRecord): Record<string, unknown> {
  return {
    method: record.method,
    requestId: record.requestId,
    code: record.outcome.code,
    reason: record.outcome.reason,
    ms: Math.round(record.ms * 100) / 100,
    peer: record.peer,
    tokenId: record.tokenId,
    storeId: record.storeId,
  };
}
