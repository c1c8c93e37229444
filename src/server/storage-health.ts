import type { Logger } from "pino";
import { HealthCheckResponse_ServingStatus as Serving } from "../../gen/grpc/health/v1/health.js";
import type { Storage, StorageCondition } from "../vault/storage-port.js";
import type { HealthState } from "./health-service.js";

/**
 * The health service name that reports whether writes can succeed: NOT_SERVING
 * while the database's disk is full, when the whole server still serves reads.
 */
export const WRITES_HEALTH = "hexclave.writes";

/**
 * Keeps health in step with the database: SERVING when it works; when its
 * disk is full, writes NOT_SERVING and — with the audit log on, which must
 * record every read and cannot — everything NOT_SERVING, else reads still
 * SERVING; everything NOT_SERVING while it is unreachable or once it is
 * damaged. Each change is
 * logged with what it means for callers and operators.
 *
 * @returns a function that stops following the storage.
 * @example
 * const stop = followStorage(storage, health, log);
 */
export function followStorage(
  storage: Storage,
  health: HealthState,
  log: Logger,
  options: { readonly audit: boolean },
): () => void {
  const apply = (condition: StorageCondition, cause: unknown): void => {
    switch (condition) {
      case "ok":
        health.setAll(Serving.SERVING);
        log.info("the database works again: serving");
        return;
      case "disk-full":
        if (options.audit) {
          // Nothing is served without its audit record, and none can be written now.
          health.setAll(Serving.NOT_SERVING);
          log.error(
            { err: cause },
            "the database is out of disk space: writes fail RESOURCE_EXHAUSTED and, with the audit log on, reads fail UNAVAILABLE (none can be recorded) until space is freed",
          );
          return;
        }
        health.setAll(Serving.SERVING);
        health.set(WRITES_HEALTH, Serving.NOT_SERVING);
        log.error(
          { err: cause },
          "the database is out of disk space: writes fail RESOURCE_EXHAUSTED until space is freed; reads go on",
        );
        return;
      case "unavailable":
        health.setAll(Serving.NOT_SERVING);
        log.error(
          { err: cause },
          "the database is unreachable: calls fail UNAVAILABLE until it returns (retrying)",
        );
        return;
      case "corrupted":
        health.setAll(Serving.NOT_SERVING);
        log.fatal(
          { err: cause },
          'the database is damaged: nothing more is written; run "hexclave verify" and restore from a backup',
        );
        return;
    }
  };
  if (storage.condition !== "ok") apply(storage.condition, undefined);
  return storage.onCondition(apply);
}
