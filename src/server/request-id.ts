import { randomBytes } from "node:crypto";

/**
 * Request ids: a random per-server prefix and a counter. Unique within a
 * server's life and across restarts and replicas in practice, and free to
 * make — a random id per call cost as much as a primary-key read.
 *
 * @example
 * const next = requestIdSource();
 * next(); // "9f1c2a7e-1"
 */
export function requestIdSource(): () => string {
  const prefix = randomBytes(4).toString("hex");
  let counter = 0;
  return () => {
    counter += 1;
    return `${prefix}-${counter.toString(36)}`;
  };
}
