import { status } from "@grpc/grpc-js";
import {
  type HealthServer,
  HealthCheckResponse_ServingStatus as Serving,
} from "../../gen/grpc/health/v1/health.js";

/**
 * The serving state behind grpc.health.v1.Health. "" stands for the whole
 * server; each service also answers under its full name. Watchers are told of
 * every change, e.g. NOT_SERVING when shutdown begins, so load balancers
 * stop routing before the listener closes.
 */
export class HealthState {
  readonly #statuses = new Map<string, Serving>();
  readonly #watchers = new Set<(service: string, state: Serving) => void>();
  readonly #enders = new Set<() => void>();
  #closed = false;

  constructor(services: readonly string[]) {
    for (const service of ["", ...services]) this.#statuses.set(service, Serving.NOT_SERVING);
  }

  /** Sets every service's state at once. After close() everything stays NOT_SERVING. */
  setAll(state: Serving): void {
    for (const service of this.#statuses.keys()) this.set(service, state);
  }

  /** Sets one service's state (a known service: see the constructor). */
  set(service: string, state: Serving): void {
    if (!this.#statuses.has(service)) return;
    const next = this.#closed ? Serving.NOT_SERVING : state;
    if (this.#statuses.get(service) === next) return;
    this.#statuses.set(service, next);
    for (const notify of this.#watchers) notify(service, next);
  }

  /** The state of a service, or undefined if the server does not offer it. */
  get(service: string): Serving | undefined {
    return this.#statuses.get(service);
  }

  /** Every service's state. */
  all(): ReadonlyMap<string, Serving> {
    return this.#statuses;
  }

  /**
   * Reports NOT_SERVING, then ends every Watch stream: an open Watch would
   * otherwise hold the server's graceful shutdown until its grace period ends.
   */
  close(): void {
    this.setAll(Serving.NOT_SERVING);
    this.#closed = true;
    for (const end of this.#enders) end();
    this.#enders.clear();
  }

  /** Calls `end` once on close() (at once if already closed), unless the returned function is called first. */
  onClose(end: () => void): () => void {
    if (this.#closed) {
      end();
      return () => {};
    }
    this.#enders.add(end);
    return () => this.#enders.delete(end);
  }

  /** Calls `notify` on every change until the returned function is called. */
  watch(notify: (service: string, state: Serving) => void): () => void {
    this.#watchers.add(notify);
    return () => this.#watchers.delete(notify);
  }
}

/** grpc.health.v1.Health handlers. Unauthenticated: container runtimes and load balancers call it. */
export function healthHandlers(state: HealthState): HealthServer {
  return {
    check(call, callback) {
      const serving = state.get(call.request.service);
      if (serving === undefined) {
        callback({ code: status.NOT_FOUND, details: `unknown service "${call.request.service}"` });
        return;
      }
      callback(null, { status: serving });
    },
    list(_call, callback) {
      const statuses: Record<string, { status: Serving }> = {};
      for (const [service, serving] of state.all()) statuses[service] = { status: serving };
      callback(null, { statuses });
    },
    watch(call) {
      const service = call.request.service;
      let last: Serving | undefined;
      const send = (s: Serving): void => {
        if (s !== last) {
          last = s;
          call.write({ status: s });
        }
      };
      send(state.get(service) ?? Serving.SERVICE_UNKNOWN);
      const stop = state.watch((changed, s) => {
        if (changed === service) send(s);
      });
      const stopEnding = state.onClose(() => {
        stop();
        call.end();
      });
      const cleanUp = (): void => {
        stop();
        stopEnding();
      };
      call.on("cancelled", cleanUp);
      call.on("close", cleanUp);
    },
  };
}
