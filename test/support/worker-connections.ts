import { type ChannelCredentials, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { HealthClient } from "../../gen/grpc/health/v1/health.js";
import { AdminServiceClient } from "../../gen/hexclave/v1/admin_service.js";
import { VaultServiceClient } from "../../gen/hexclave/v1/vault_service.js";
import type { RawClients } from "./grpc-clients.js";
import type { ServerProcess } from "./server-process.js";

/**
 * Client connections to a `hexclave serve --workers N` group, each knowing
 * which worker took it. node:cluster hands each accepted connection to one
 * worker, so a test that wants to cross workers needs connections of its
 * own: every client here has a private subchannel pool (grpc-js otherwise
 * shares one connection among all clients of an address), and the admin and
 * health clients ride the vault client's channel.
 */

/** One connection, and the worker process behind it. */
export interface WorkerConnection extends RawClients {
  /** The worker's index (1…N), from its log line for a call on this connection. */
  readonly worker: number;
  readonly health: HealthClient;
}

/** A connection of its own to `address` (not yet identified). */
export function ownConnection(
  address: string,
  creds: ChannelCredentials = credentials.createInsecure(),
): RawClients & { readonly health: HealthClient } {
  const vault = new VaultServiceClient(address, creds, { "grpc.use_local_subchannel_pool": 1 });
  const channelOverride = vault.getChannel();
  const admin = new AdminServiceClient(address, creds, { channelOverride });
  const health = new HealthClient(address, creds, { channelOverride });
  return {
    vault,
    admin,
    health,
    close() {
      health.close();
      admin.close();
      vault.close();
    },
  };
}

/**
 * Which worker a connection reached: one call with a made-up token, whose
 * request id (the `x-request-id` trailer, unique per process) the answering
 * worker logs with its index on the "call refused: authentication" line.
 */
export async function workerOf(p: ServerProcess, c: RawClients): Promise<number> {
  const requestId = await new Promise<string>((resolve, reject) => {
    const md = new Metadata();
    md.set("authorization", "Bearer hxk_not-a-token-of-this-server");
    c.admin.listStores({}, md, { deadline: Date.now() + 20_000 }, (error: ServiceError | null) => {
      const id = error?.metadata?.get("x-request-id")[0];
      if (typeof id === "string") resolve(id);
      else reject(new Error(`no request id on the refusal: ${error?.message ?? "it succeeded"}`));
    });
  });
  const line = await logLine(p, (l) => l.requestId === requestId);
  return Number(line.worker);
}

/**
 * Opens connections until every worker `1…workers` has at least `perWorker`
 * of them (round robin makes this quick), closing none.
 *
 * @throws Error if some worker never gets a connection (the group does not share its listener).
 */
export async function connectToEveryWorker(
  p: ServerProcess,
  workers: number,
  perWorker = 1,
): Promise<WorkerConnection[]> {
  const connections: WorkerConnection[] = [];
  const count = (w: number) => connections.filter((c) => c.worker === w).length;
  const indexes = Array.from({ length: workers }, (_, i) => i + 1);
  for (let tries = 0; indexes.some((w) => count(w) < perWorker); tries++) {
    if (tries >= workers * perWorker * 6) {
      for (const c of connections) c.close();
      throw new Error(`connections reached workers ${connections.map((c) => c.worker)} only`);
    }
    const c = ownConnection(p.address);
    connections.push({ ...c, worker: await workerOf(p, c) });
  }
  return connections;
}

/** The pid of worker `index` now: its newest "worker started" line from the leader. */
export function workerPid(p: ServerProcess, index: number): number {
  const line = p.logs.filter((l) => l.msg === "worker started" && l.worker === index).at(-1);
  if (line === undefined) throw new Error(`no "worker started" line for worker ${index}`);
  return Number(line.pid);
}

/**
 * Resolves with the first log line (already printed or yet to come) that
 * `matches`; rejects after `timeoutMs`.
 */
export function logLine(
  p: ServerProcess,
  matches: (line: Record<string, unknown>) => boolean,
  timeoutMs = 20_000,
): Promise<Record<string, unknown>> {
  const found = p.logs.find(matches);
  if (found !== undefined) return Promise.resolve(found);
  const stdout = p.child.stdout as NodeJS.ReadableStream;
  return new Promise((resolve, reject) => {
    // Added after the process's own line reader: by the time this runs, the chunk's lines are in p.logs.
    const onData = (): void => {
      const line = p.logs.find(matches);
      if (line === undefined) return;
      clearTimeout(timer);
      stdout.off("data", onData);
      resolve(line);
    };
    const timer = setTimeout(() => {
      stdout.off("data", onData);
      reject(new Error(`no such log line within ${timeoutMs} ms`));
    }, timeoutMs);
    stdout.on("data", onData);
  });
}

/** Whether a process is still alive. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
