import { status } from "@grpc/grpc-js";
import {
  Counter,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  type Registry as PromRegistry,
  Registry,
} from "prom-client";
import { HealthCheckResponse_ServingStatus as Serving } from "../../../gen/grpc/health/v1/health.js";
import type { Storage, StoreRow } from "../../vault/storage-port.js";
import type { Vault } from "../../vault/vault.js";
import type { CallObserver } from "../call-record.js";
import type { HealthState } from "../health-service.js";
import { serverVersion } from "../server-version.js";

/** What the metrics read from the running server; each may be absent while it starts. */
export interface MetricsSources {
  readonly storage: () => Storage | undefined;
  readonly vault: () => Vault | undefined;
  /** Calls being served now. */
  readonly inFlight: () => number;
  readonly health: HealthState;
  /** Which backend: a label of hexclave_build_info. */
  readonly storageKind: "sqlite" | "postgres";
  /** The method paths the server serves: any other path is counted as "unknown". */
  readonly knownMethods: ReadonlySet<string>;
  /** Label store gauges with store ids (`--metrics-store-labels`). */
  readonly storeLabels: boolean;
}

/** The server's metrics: a registry of its own, and the call observer that feeds it. */
export interface ServerMetrics {
  readonly registry: PromRegistry;
  /** Counts and times every call (compose it with the call log). */
  readonly observe: CallObserver;
  /** Starts following a storage's write batches; returns the function that stops. */
  followStorage(storage: Storage): () => void;
}

/** Latency buckets, in seconds: a cached read takes well under a millisecond, a commit a few. */
const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/**
 * Prometheus metrics (prom-client) on a registry of the server's own. Labels
 * carry only bounded, public facts — service, method, status code, health
 * service, condition — never a token, key id, value or secret; store ids
 * only with `storeLabels`, since they are names an operator chose and each
 * adds a series. docs/operations.md describes every family.
 *
 * @example
 * const metrics = serverMetrics({ storage: () => storage, vault: () => vault, inFlight, health, storageKind: "sqlite", knownMethods, storeLabels: false });
 * const text = await metrics.registry.metrics();
 */
export function serverMetrics(sources: MetricsSources): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  new Gauge({
    name: "hexclave_build_info",
    help: "Always 1; the labels say which Hexclave, Node.js and storage backend run.",
    labelNames: ["version", "node_version", "storage"],
    registers: [registry],
    aggregator: "first",
  }).set(
    { version: serverVersion(), node_version: process.version, storage: sources.storageKind },
    1,
  );

  const calls = new Counter({
    name: "hexclave_calls_total",
    help: "Calls finished, by service, method and gRPC status code.",
    labelNames: ["service", "method", "code"],
    registers: [registry],
  });
  const latency = new Histogram({
    name: "hexclave_call_duration_seconds",
    help: "Time from a call's arrival to its end, by service and method.",
    labelNames: ["service", "method"],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  new Gauge({
    name: "hexclave_calls_in_flight",
    help: "Calls being served now.",
    registers: [registry],
    collect() {
      this.set(sources.inFlight());
    },
  });

  const batchSize = new Histogram({
    name: "hexclave_write_batch_commands",
    help: "Write commands committed together in one transaction (group commit).",
    buckets: BATCH_BUCKETS,
    registers: [registry],
  });
  const commitTime = new Histogram({
    name: "hexclave_write_commit_seconds",
    help: "Time of one write transaction, BEGIN to the end of COMMIT (its fsync included).",
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  new Gauge({
    name: "hexclave_write_queue_depth",
    help: "Write commands submitted and not yet committed.",
    registers: [registry],
    collect() {
      this.set(sources.storage()?.stats().pendingWrites ?? 0);
    },
  });
  new Gauge({
    name: "hexclave_database_connections",
    help: "PostgreSQL pool connections, by state (busy, idle); absent on SQLite.",
    labelNames: ["state"],
    registers: [registry],
    collect() {
      const pool = sources.storage()?.stats().pool;
      if (pool === undefined) return;
      this.set({ state: "busy" }, pool.total - pool.idle);
      this.set({ state: "idle" }, pool.idle);
    },
  });
  new Gauge({
    name: "hexclave_database_waiting_clients",
    help: "Queries waiting for a PostgreSQL pool connection; always 0 on SQLite.",
    registers: [registry],
    collect() {
      const pool = sources.storage()?.stats().pool;
      if (pool !== undefined) this.set(pool.waiting);
    },
  });

  const cacheCounter = (name: string, help: string, pick: "hits" | "misses") =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const stats = sources.vault()?.cacheStats();
        this.reset();
        if (stats !== undefined) this.inc(stats[pick]);
      },
    });
  cacheCounter(
    "hexclave_entry_cache_hits_total",
    "Entry reads answered from the in-memory entry cache (off on shared databases).",
    "hits",
  );
  cacheCounter(
    "hexclave_entry_cache_misses_total",
    "Entry reads that went to the database while the entry cache is on.",
    "misses",
  );
  new Gauge({
    name: "hexclave_entry_cache_bytes",
    help: "Bytes the entry cache holds.",
    registers: [registry],
    collect() {
      this.set(sources.vault()?.cacheStats().bytes ?? 0);
    },
  });

  new Gauge({
    name: "hexclave_health_serving",
    help: "1 if the health service reports SERVING for this service, else 0.",
    labelNames: ["service"],
    registers: [registry],
    aggregator: "min",
    collect() {
      for (const [service, state] of sources.health.all()) {
        this.set(
          { service: service === "" ? "overall" : service },
          state === Serving.SERVING ? 1 : 0,
        );
      }
    },
  });
  new Gauge({
    name: "hexclave_storage_condition",
    help: "1 for the database's condition now (ok, unavailable, disk-full, corrupted), 0 for the others.",
    labelNames: ["condition"],
    registers: [registry],
    aggregator: "max",
    collect() {
      const now = sources.storage()?.condition;
      for (const condition of ["ok", "unavailable", "disk-full", "corrupted"]) {
        this.set({ condition }, condition === now ? 1 : 0);
      }
    },
  });

  storeGauges(registry, sources);

  // Label sets are few (methods × codes): bind each once instead of hashing labels per call.
  const counters = new Map<string, { inc(): void }>();
  const timers = new Map<string, { observe(seconds: number): void }>();
  return {
    registry,
    observe(record) {
      const path = sources.knownMethods.has(record.method) ? record.method : "/unknown/unknown";
      const code = status[record.outcome.code] ?? String(record.outcome.code);
      const countKey = `${path} ${code}`;
      let counter = counters.get(countKey);
      let timer = timers.get(path);
      if (counter === undefined || timer === undefined) {
        const [service, method] = splitPath(path);
        counter ??= calls.labels({ service, method, code });
        timer ??= latency.labels({ service, method });
        counters.set(countKey, counter);
        timers.set(path, timer);
      }
      counter.inc();
      timer.observe(record.ms / 1000);
    },
    followStorage(storage) {
      return storage.onBatch((batch) => {
        batchSize.observe(batch.commands);
        commitTime.observe(batch.commitMs / 1000);
      });
    },
  };
}

/**
 * Stores, entries and bytes: totals always, per store only when allowed.
 * Read from the database at each scrape, one query for the three (every
 * server sees the same numbers, so across `--workers` the largest, not the
 * sum, is reported).
 */
function storeGauges(registry: Registry, sources: MetricsSources): void {
  // One query per scrape: the gauges collected together share the one in flight.
  let scanning: Promise<StoreRow[]> | undefined;
  const stores = (): Promise<StoreRow[]> => {
    const storage = sources.storage();
    if (storage === undefined) return Promise.resolve([]);
    scanning ??= storage.reads
      .listStores()
      .catch(() => [])
      .finally(() => {
        scanning = undefined;
      });
    return scanning;
  };
  const labels = sources.storeLabels ? ["store"] : [];
  const gauge = (name: string, help: string, value: (row: StoreRow) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: labels,
      registers: [registry],
      aggregator: "max",
      async collect() {
        const rows = await stores();
        this.reset();
        if (sources.storeLabels) {
          for (const row of rows) this.set({ store: row.id }, value(row));
        } else {
          this.set(rows.reduce((sum, row) => sum + value(row), 0));
        }
      },
    });
  };
  new Gauge({
    name: "hexclave_stores",
    help: "Live stores.",
    registers: [registry],
    aggregator: "max",
    async collect() {
      this.set((await stores()).length);
    },
  });
  gauge(
    "hexclave_store_entries",
    "Entries stored (per store with --metrics-store-labels; expired ones until swept).",
    (row) => row.entryCount,
  );
  gauge(
    "hexclave_store_value_bytes",
    "Bytes of sealed values stored (per store with --metrics-store-labels).",
    (row) => row.totalValueBytes,
  );
}

/** "/hexclave.v1.VaultService/GetValue" → ["hexclave.v1.VaultService", "GetValue"]. */
function splitPath(path: string): [string, string] {
  const slash = path.lastIndexOf("/");
  return [path.slice(1, slash), path.slice(slash + 1)];
}
