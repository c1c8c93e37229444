import cluster from "node:cluster";
import { randomUUID } from "node:crypto";
import { AggregatorRegistry, type Registry } from "prom-client";
import { serveClusterGather } from "./cluster-gather.js";

/** What a worker asks its leader, and the answer. */
const REQUEST = "hexclave:cluster-metrics";
const REPLY = "hexclave:cluster-metrics-reply";
const TIMEOUT_MS = 5_000;

interface MetricsReply {
  readonly type: typeof REPLY;
  readonly id: string;
  readonly text?: string;
  readonly error?: string;
}

/**
 * `--workers`, in the leader: answers a worker's request for the whole
 * group's metrics by asking every worker for its own (prom-client's
 * AggregatorRegistry) and summing them — or, for gauges every worker reads
 * from the same database, taking the largest. Call once.
 *
 * @example
 * if (cluster.isPrimary) serveClusterMetrics();
 */
export function serveClusterMetrics(): void {
  // The dashboard's Activity charts gather the workers' histories through the leader too.
  serveClusterGather();
  const aggregator = new AggregatorRegistry();
  cluster.on("message", (worker, message: { type?: unknown; id?: unknown }) => {
    if (message?.type !== REQUEST || typeof message.id !== "string") return;
    const id = message.id;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: REPLY, id, text } satisfies MetricsReply),
      (error: Error) =>
        worker.send({ type: REPLY, id, error: error.message } satisfies MetricsReply),
    );
  });
}

/**
 * `--workers`, in a worker: offers `registry` to the leader's aggregation and
 * returns the function that fetches the whole group's metrics text (what
 * /metrics serves, whichever worker the scrape reached).
 *
 * @example
 * const groupMetrics = joinClusterMetrics(metrics.registry);
 * response.end(await groupMetrics());
 */
export function joinClusterMetrics(registry: Registry): () => Promise<string> {
  // Constructing it in a worker installs prom-client's answer to the leader's requests.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
  const waiting = new Map<
    string,
    { resolve: (text: string) => void; reject: (e: Error) => void }
  >();
  process.on("message", (message: Partial<MetricsReply>) => {
    if (message?.type !== REPLY || typeof message.id !== "string") return;
    const pending = waiting.get(message.id);
    waiting.delete(message.id);
    if (message.text !== undefined) pending?.resolve(message.text);
    else pending?.reject(new Error(`the leader could not gather metrics: ${message.error ?? "?"}`));
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = randomUUID();
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error("the leader did not answer with the group's metrics in time"));
      }, TIMEOUT_MS);
      waiting.set(id, {
        resolve: (text) => {
          clearTimeout(timer);
          resolve(text);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      process.send?.({ type: REQUEST, id });
    });
}
