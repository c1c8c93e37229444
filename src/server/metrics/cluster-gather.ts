import cluster, { type Worker } from "node:cluster";
import { randomUUID } from "node:crypto";

/** A worker asks the leader to gather a topic from every worker, and gets the answers. */
const GATHER = "hexclave:gather";
const GATHERED = "hexclave:gathered";
/** The leader asks each worker for its part, and each answers. */
const COLLECT = "hexclave:collect";
const COLLECTED = "hexclave:collected";
/** A worker that does not answer in time (restarting) is left out. */
const TIMEOUT_MS = 2_000;

interface Message {
  readonly type?: unknown;
  readonly id?: unknown;
  readonly topic?: unknown;
  readonly item?: unknown;
  readonly items?: unknown;
}

/**
 * `--workers`, in the leader: relays a worker's "gather <topic>" to every
 * worker and answers with what they said (the dashboard's Activity charts
 * add up the group's calls this way). Call once, next to serveClusterMetrics.
 *
 * @example
 * if (cluster.isPrimary) serveClusterGather();
 */
export function serveClusterGather(): void {
  const collecting = new Map<string, (item: unknown) => void>();
  cluster.on("message", (worker: Worker, message: Message) => {
    if (message?.type === COLLECTED && typeof message.id === "string") {
      collecting.get(message.id)?.(message.item);
      return;
    }
    if (message?.type !== GATHER || typeof message.id !== "string") return;
    if (typeof message.topic !== "string") return;
    const { id, topic } = message;
    const workers = Object.values(cluster.workers ?? {}).filter(
      (w): w is Worker => w?.isConnected() === true,
    );
    void Promise.all(
      workers.map(
        (w) =>
          new Promise<unknown>((resolve) => {
            const part = randomUUID();
            const timer = setTimeout(() => {
              collecting.delete(part);
              resolve(undefined);
            }, TIMEOUT_MS);
            collecting.set(part, (item) => {
              clearTimeout(timer);
              collecting.delete(part);
              resolve(item);
            });
            w.send({ type: COLLECT, id: part, topic });
          }),
      ),
    ).then((items) => {
      if (worker.isConnected()) {
        worker.send({ type: GATHERED, id, items: items.filter((i) => i !== undefined) });
      }
    });
  });
}

/**
 * `--workers`, in a worker: answers the leader's requests for `topic` with
 * `provide()` (plain data: it crosses processes as JSON).
 *
 * @example
 * answerGather("activity", () => history.record());
 */
export function answerGather(topic: string, provide: () => unknown): void {
  process.on("message", (message: Message) => {
    if (message?.type !== COLLECT || message.topic !== topic || typeof message.id !== "string") {
      return;
    }
    process.send?.({ type: COLLECTED, id: message.id, item: provide() });
  });
}

/**
 * `--workers`, in a worker: what every worker of the group (this one too)
 * answers for `topic`.
 *
 * @throws Error if the leader does not answer in time.
 * @example
 * const records = (await gatherFromGroup("activity")) as ActivityRecord[];
 */
export function gatherFromGroup(topic: string): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const id = randomUUID();
    const onMessage = (message: Message): void => {
      if (message?.type !== GATHERED || message.id !== id) return;
      finish();
      resolve(Array.isArray(message.items) ? message.items : []);
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error("the leader did not gather the group's answers in time"));
    }, TIMEOUT_MS * 2);
    const finish = (): void => {
      clearTimeout(timer);
      process.off("message", onMessage);
    };
    process.on("message", onMessage);
    process.send?.({ type: GATHER, id, topic });
  });
}
