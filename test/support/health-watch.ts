import { type ClientReadableStream, credentials, Metadata } from "@grpc/grpc-js";
import {
  type HealthCheckResponse,
  HealthClient,
  HealthCheckResponse_ServingStatus as Serving,
} from "../../gen/grpc/health/v1/health.js";

export { Serving };

/** A grpc.health.v1 Watch on one server: the event a test waits on, never a sleep. */
export interface HealthWatch {
  /** Every status received, with the time it arrived. */
  readonly seen: readonly { readonly status: Serving; readonly at: number }[];
  /**
   * Resolves once the server's status is `status`: at once (with the time it
   * arrived) if it is now, else when it next becomes so; rejects after `timeoutMs`.
   */
  until(status: Serving, options?: { timeoutMs?: number }): Promise<number>;
  close(): void;
}

/**
 * Opens a Watch on `address` for `service` ("" is the whole server).
 *
 * @example
 * const health = watchHealth(p.address);
 * await health.until(Serving.NOT_SERVING);
 */
export function watchHealth(address: string, service = ""): HealthWatch {
  const client = new HealthClient(address, credentials.createInsecure());
  const seen: { status: Serving; at: number }[] = [];
  const waiters = new Set<() => void>();
  const stream: ClientReadableStream<HealthCheckResponse> = client.watch(
    { service },
    new Metadata(),
  );
  stream.on("data", (response: HealthCheckResponse) => {
    seen.push({ status: response.status, at: Date.now() });
    for (const wake of [...waiters]) wake();
  });
  stream.on("error", () => {});
  return {
    seen,
    until(status, options = {}) {
      const found = () => {
        const last = seen.at(-1);
        return last?.status === status ? last.at : undefined;
      };
      const already = found();
      if (already !== undefined) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(
            new Error(`health did not become ${Serving[status]} (saw ${JSON.stringify(seen)})`),
          );
        }, options.timeoutMs ?? 20_000);
        const wake = (): void => {
          const at = found();
          if (at === undefined) return;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(at);
        };
        waiters.add(wake);
      });
    },
    close() {
      stream.cancel();
      client.close();
    },
  };
}

/** One Health Check: the status now, or undefined if the call failed. */
export function checkHealth(address: string, service = ""): Promise<Serving | undefined> {
  const client = new HealthClient(address, credentials.createInsecure());
  return new Promise<Serving | undefined>((resolve) => {
    client.check({ service }, new Metadata(), { deadline: Date.now() + 10_000 }, (error, res) =>
      resolve(error === null ? res.status : undefined),
    );
  }).finally(() => client.close());
}
