/**
 * The baseline: a grpc-js server answering every hexclave.v1.VaultService
 * method with messages of the same sizes as the real server's, and doing
 * nothing else — no auth, no database, no crypto. Requests are still decoded
 * and responses encoded by the same generated code, so the gap between this
 * and Hexclave is exactly Hexclave's own work.
 *
 * Run as its own process: `node dist/bench/noop-server.js --listen 127.0.0.1:0
 * --sealed-bytes 345`; it prints {"msg":"noop serving","address":…} when ready.
 * With `--workers N` it runs N such servers on one listener (node:cluster,
 * round robin, as `hexclave serve --workers N` does): the transport's own
 * ceiling with every core serving.
 */
import cluster from "node:cluster";
import { once } from "node:events";
import { parseArgs } from "node:util";
import {
  type handleServerStreamingCall,
  type handleUnaryCall,
  Server,
  ServerCredentials,
} from "@grpc/grpc-js";
import {
  HealthCheckResponse_ServingStatus,
  type HealthServer,
  HealthService,
} from "../gen/grpc/health/v1/health.js";
import type { Entry, KeyRef, Store } from "../gen/hexclave/v1/types.js";
import { type VaultServiceServer, VaultServiceService } from "../gen/hexclave/v1/vault_service.js";
import { limits, maxRequestMessageBytes, maxResponseMessageBytes } from "../src/vault/limits.js";

const { values } = parseArgs({
  options: {
    listen: { type: "string" },
    "sealed-bytes": { type: "string" },
    workers: { type: "string" },
  },
});
const workers = Number(values.workers ?? "1");
if (!Number.isInteger(workers) || workers < 1) {
  throw new Error(`--workers must be a positive integer, got ${values.workers}`);
}
const listen = values.listen ?? "127.0.0.1:0";
const sealedBytes = Number(values["sealed-bytes"] ?? "345");
if (!Number.isInteger(sealedBytes) || sealedBytes < 1) {
  throw new Error(`--sealed-bytes must be a positive integer, got ${values["sealed-bytes"]}`);
}

// Fixed bytes, made once: the point is to cost nothing per call.
const SEALED = Buffer.alloc(sealedBytes, 0xa5);
const UPDATED = new Date("2026-01-01T00:00:00.123Z");
const STORE: Store = {
  id: "noop",
  description: "",
  salt: Buffer.alloc(limits.storeSaltBytes, 7),
  maxValueBytes: limits.defaultMaxValueBytes,
  secrets: [],
  entryCount: 0n,
  totalValueBytes: 0n,
  createTime: UPDATED,
};

/** The entry the real server would return for `ref`: its ids echoed, a fixed blob. */
function entryFor(ref: KeyRef | undefined): Entry {
  return {
    keyId: ref?.keyId ?? Buffer.alloc(limits.keyIdBytes),
    secretFingerprint: ref?.secretFingerprint ?? Buffer.alloc(limits.fingerprintBytes),
    sealedValue: SEALED,
    version: 1n,
    updateTime: UPDATED,
  };
}

function answer<Req, Res>(respond: (request: Req) => Res): handleUnaryCall<Req, Res> {
  return (call, callback) => callback(null, respond(call.request));
}

const listEntries: handleServerStreamingCall<unknown, unknown> = (call) => {
  call.write({ entries: [entryFor(undefined)] });
  call.end();
};

const vault: VaultServiceServer = {
  describeStore: answer(() => ({ store: STORE })),
  getValue: answer((req) => ({ entry: entryFor(req.key) })),
  setValue: answer(() => ({ version: 1n })),
  deleteValue: answer(() => ({ deleted: true })),
  batchGetValues: answer((req) => ({ entries: req.keys.map(entryFor) })),
  listEntries,
  registerSecret: answer(() => ({ store: STORE })),
  retireSecret: answer(() => ({ store: STORE })),
};

if (workers > 1 && cluster.isPrimary) await lead(workers);
else serve();

/** The primary of `--workers N`: forks the servers, says where they listen, stops them on a signal. */
async function lead(count: number): Promise<void> {
  const forked = Array.from({ length: count }, () => cluster.fork());
  const addresses = await Promise.all(
    forked.map(
      async (worker) => ((await once(worker, "message")) as [{ address: string }])[0].address,
    ),
  );
  process.stdout.write(
    `${JSON.stringify({ msg: "noop serving", address: addresses[0], workers: count })}\n`,
  );
  const stop = (): void => {
    for (const worker of forked) worker.process.kill("SIGTERM");
    void Promise.all(forked.map((w) => (w.isDead() ? undefined : once(w, "exit")))).then(() =>
      process.exit(0),
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

function serve(): void {
  const server = new Server({
    "grpc.max_receive_message_length": maxRequestMessageBytes,
    "grpc.max_send_message_length": maxResponseMessageBytes,
  });
  server.addService(VaultServiceService, vault);
  const health: HealthServer = {
    check: answer(() => ({ status: HealthCheckResponse_ServingStatus.SERVING })),
    list: answer(() => ({ statuses: {} })),
    watch: (call) => {
      call.write({ status: HealthCheckResponse_ServingStatus.SERVING });
      call.end();
    },
  };
  server.addService(HealthService, health);
  server.bindAsync(listen, ServerCredentials.createInsecure(), (error, port) => {
    if (error !== null) {
      process.stderr.write(`noop server: cannot listen on ${listen}: ${error.message}\n`);
      process.exit(1);
    }
    const host = listen.slice(0, listen.lastIndexOf(":"));
    const address = `${host}:${port}`;
    if (cluster.isWorker) process.send?.({ address });
    else process.stdout.write(`${JSON.stringify({ msg: "noop serving", address })}\n`);
  });
  const stop = (): void => server.tryShutdown(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
