import { type Logger, pino } from "pino";

/**
 * The server's structured JSON log. Callers' tokens travel in metadata that is
 * never logged; the paths below are redacted as a second line of defence in
 * case an object carrying one is ever logged by mistake.
 *
 * @example
 * const log = createLogger("info");
 */
export function createLogger(
  level: string,
  destination: NodeJS.WritableStream = process.stdout,
): Logger {
  return pino(
    {
      level,
      base:
        process.env.HEXCLAVE_WORKER_INDEX === undefined
          ? { service: "hexclave" }
          : { service: "hexclave", worker: Number(process.env.HEXCLAVE_WORKER_INDEX) },
      redact: {
        paths: [
          "authorization",
          "token",
          "secret",
          "*.authorization",
          "*.token",
          "*.secret",
          "*.sealedValue",
          "*.blob",
        ],
        censor: "[redacted]",
      },
    },
    destination,
  );
}
