import { rm } from "node:fs/promises";
import type { ClientHttp2Session } from "node:http2";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import {
  AdminServiceService,
  CreateStoreRequest,
  GetStoreRequest,
  GetStoreResponse,
} from "../../gen/hexclave/v1/admin_service.js";
import type { KeyRef } from "../../gen/hexclave/v1/types.js";
import {
  BatchGetValuesRequest,
  BatchGetValuesResponse,
  DeleteValueRequest,
  DeleteValueResponse,
  GetValueRequest,
  GetValueResponse,
  ListEntriesRequest,
  ListEntriesResponse,
  SetValueRequest,
  SetValueResponse,
  VaultServiceService,
} from "../../gen/hexclave/v1/vault_service.js";
import { grpcFrame } from "../grpc-frame.js";
import {
  type AttackServer,
  type AttackServerConfig,
  freshServerConfig,
  type ServerOutput,
  SHUTDOWN_LIMIT_MS,
  startAttackServer,
} from "./attack-server.js";
import { grpcMessages, unary } from "./grpc-unary.js";
import { scanServerOutput } from "./leak-patterns.js";
import { connectRaw, type Outcome, rawCall } from "./raw-grpc-call.js";
import { SeededRandom } from "./seeded-random.js";
import {
  checkKey,
  checkVersions,
  type HistoryProblem,
  type KeyState,
  type WriteOp,
} from "./write-history.js";

/**
 * The crash loop: one data dir, `cycles` times over — start the server,
 * let concurrent writers collide on a small key space with SetValue (plain
 * and check-and-set) and DeleteValue (plain and check-and-delete), SIGKILL
 * the server at a random moment, check the SQLite file's integrity before
 * anything else touches it, restart, and check that every acknowledged write
 * is still there and no version was given twice.
 */

/** Options of one run. */
export interface CrashLoopOptions {
  readonly cycles: number;
  readonly seed: string;
  /** Concurrent writers (default 16). */
  readonly writers?: number;
  /** Keys they share (default 8: they collide). */
  readonly keys?: number;
  readonly progress?: (line: string) => void;
}

/** The run's result. */
export interface CrashLoopReport {
  readonly seed: string;
  readonly cyclesPlanned: number;
  readonly cyclesDone: number;
  readonly durationMs: number;
  /** Acknowledged operations by kind, and those cut off by the kill. */
  readonly acknowledged: Record<WriteOp["kind"], number>;
  readonly refused: number;
  readonly cutOff: number;
  /** Key states checked after restarts. */
  readonly keysChecked: number;
  readonly restartFailures: readonly string[];
  readonly killFailures: readonly string[];
  /** PRAGMA integrity_check results other than "ok", per cycle. */
  readonly integrityFailures: readonly string[];
  readonly integrityChecks: number;
  readonly counterMismatches: readonly string[];
  readonly history: readonly HistoryProblem[];
  /** Statuses no write should get (INTERNAL, UNKNOWN…), with counts. */
  readonly unexpectedStatuses: Record<string, number>;
  readonly logLeaks: number;
}

const STORE = "crash-loop";
/** Statuses that say the write was not made. */
const REFUSED = new Set([3, 5, 7, 9, 10, 16]);

/**
 * Runs the crash loop.
 *
 * @throws Error if the very first start fails.
 * @example
 * const report = await runCrashLoop({ cycles: 5, seed: "crash" });
 */
export async function runCrashLoop(options: CrashLoopOptions): Promise<CrashLoopReport> {
  const started = performance.now();
  const config: AttackServerConfig = {
    ...(await freshServerConfig("hexclave-crash-")),
    logLevel: "info",
  };
  const output: ServerOutput = { stdout: [], stderr: [] };
  const rng = SeededRandom.derive(options.seed, "keys");
  const fingerprint = rng.bytes(8);
  const keyCount = options.keys ?? 8;
  const keys: KeyRef[] = Array.from({ length: keyCount }, () => ({
    keyId: rng.bytes(32),
    secretFingerprint: fingerprint,
  }));
  const all: WriteOp[] = [];
  const report = {
    restartFailures: [] as string[],
    killFailures: [] as string[],
    integrityFailures: [] as string[],
    counterMismatches: [] as string[],
    history: [] as HistoryProblem[],
    unexpectedStatuses: {} as Record<string, number>,
    keysChecked: 0,
    integrityChecks: 0,
  };
  let baseline = new Map<number, KeyState>();
  let cyclesDone = 0;
  let server: AttackServer | undefined;
  try {
    server = await startAttackServer(config, output);
    const setup = connectRaw(server.address);
    await unary(
      setup,
      AdminServiceService.createStore.path,
      CreateStoreRequest.encode({ storeId: STORE, description: "" }).finish(),
      config.adminToken,
    );
    setup.destroy();

    for (let cycle = 1; cycle <= options.cycles; cycle++) {
      const ops = await writeUntilKilled(
        server,
        config.adminToken,
        keys,
        cycle,
        options,
        report.unexpectedStatuses,
      );
      all.push(...ops);
      const exit = await server.closed;
      if (exit.signal !== "SIGKILL")
        report.killFailures.push(`cycle ${cycle}: exit ${exit.code ?? exit.signal}`);

      report.integrityChecks += 1;
      const integrity = integrityCheck(config.dataDir);
      if (integrity !== "ok") report.integrityFailures.push(`cycle ${cycle}: ${integrity}`);

      try {
        server = await startAttackServer(config, output);
      } catch (error) {
        report.restartFailures.push(`cycle ${cycle}: ${(error as Error).message.slice(0, 400)}`);
        server = undefined;
        break;
      }
      const read = await readBack(server.address, config.adminToken, keys);
      for (let k = 0; k < keys.length; k++) {
        report.history.push(
          ...checkKey(
            k,
            baseline.get(k),
            ops.filter((o) => o.key === k),
            read.get(k),
          ),
        );
        report.keysChecked += 1;
      }
      const counters = await checkCounters(server.address, config.adminToken);
      if (counters !== undefined) report.counterMismatches.push(`cycle ${cycle}: ${counters}`);
      baseline = read;
      cyclesDone = cycle;
      const acked = ops.filter((o) => o.outcome === "acked").length;
      options.progress?.(
        `cycle ${cycle}/${options.cycles}: ${acked} acknowledged, ${ops.filter((o) => o.outcome === "unknown").length} cut off; integrity ${integrity}; ${report.history.length} problems so far`,
      );
    }
    report.history.push(...checkVersions(all));
  } finally {
    if (server?.alive() === true) await server.terminate(SHUTDOWN_LIMIT_MS);
    await rm(config.dataDir, { recursive: true, force: true });
  }
  const count = (kind: WriteOp["kind"]) =>
    all.filter((o) => o.kind === kind && o.outcome === "acked").length;
  return {
    seed: options.seed,
    cyclesPlanned: options.cycles,
    cyclesDone,
    durationMs: performance.now() - started,
    acknowledged: {
      set: count("set"),
      "cas-set": count("cas-set"),
      delete: count("delete"),
      "cas-delete": count("cas-delete"),
    },
    refused: all.filter((o) => o.outcome === "refused").length,
    cutOff: all.filter((o) => o.outcome === "unknown").length,
    logLeaks: scanServerOutput(output, {
      values: [{ what: "admin token", text: config.adminToken }],
    }).length,
    ...report,
  };
}

/** The writers of one cycle; the server is SIGKILLed after a random number of acks or milliseconds. */
async function writeUntilKilled(
  server: AttackServer,
  adminToken: string,
  keys: readonly KeyRef[],
  cycle: number,
  options: CrashLoopOptions,
  unexpected: Record<string, number>,
): Promise<WriteOp[]> {
  const rng = SeededRandom.derive(options.seed, "cycle", cycle);
  const killAfterAcks = rng.chance(0.5) ? rng.range(1, 400) : undefined;
  const killAfterMs = killAfterAcks === undefined ? rng.range(0, 600) : 30_000;
  const ops: WriteOp[] = [];
  let acks = 0;
  let killed = false;
  const kill = (): void => {
    if (killed) return;
    killed = true;
    server.child.kill("SIGKILL");
  };
  const timer = setTimeout(kill, killAfterMs);
  const sessions: ClientHttp2Session[] = Array.from({ length: 4 }, () =>
    connectRaw(server.address),
  );
  const auth = { authorization: `Bearer ${adminToken}` };
  const call = (session: ClientHttp2Session, path: string, message: Uint8Array): Promise<Outcome> =>
    rawCall(session, { path, headers: auth, chunks: [grpcFrame(message)], timeoutMs: 15_000 });

  const writer = async (w: number): Promise<void> => {
    const wrng = SeededRandom.derive(options.seed, "cycle", cycle, "writer", w);
    const session = sessions[w % sessions.length] as ClientHttp2Session;
    for (let seq = 0; !killed; seq++) {
      const k = wrng.int(keys.length);
      const key = keys[k] as KeyRef;
      const kind = wrng.weighted<WriteOp["kind"]>([
        ["set", 35],
        ["cas-set", 25],
        ["delete", 20],
        ["cas-delete", 20],
      ]);
      let expected: bigint | undefined;
      if (kind === "cas-set" || kind === "cas-delete") {
        const read = await call(
          session,
          VaultServiceService.getValue.path,
          GetValueRequest.encode({ storeId: STORE, key, previousKeys: [] }).finish(),
        );
        const [bytes] = grpcMessages(read.body);
        if (read.grpcStatus !== 0 || bytes === undefined) continue;
        expected = GetValueResponse.decode(bytes).entry?.version ?? 0n;
      }
      const value = Buffer.concat([
        Buffer.from(`c${cycle}w${w}s${seq}:`),
        wrng.bytes(wrng.range(16, 160)),
      ]);
      const op: WriteOp = {
        cycle,
        key: k,
        kind,
        ...(kind === "set" || kind === "cas-set" ? { value: value.toString("hex") } : {}),
        ...(expected === undefined ? {} : { expected }),
        sentAt: performance.now(),
      };
      ops.push(op);
      const outcome =
        kind === "set" || kind === "cas-set"
          ? await call(
              session,
              VaultServiceService.setValue.path,
              SetValueRequest.encode({
                storeId: STORE,
                key,
                sealedValue: value,
                expectedVersion: expected,
                previousKeys: [],
              }).finish(),
            )
          : await call(
              session,
              VaultServiceService.deleteValue.path,
              DeleteValueRequest.encode({
                storeId: STORE,
                key,
                previousKeys: [],
                expectedVersion: expected,
              }).finish(),
            );
      const [bytes] = grpcMessages(outcome.body);
      if (outcome.kind === "status" && outcome.grpcStatus === 0 && bytes !== undefined) {
        op.ackAt = performance.now();
        op.outcome = "acked";
        if (kind === "set" || kind === "cas-set")
          op.version = SetValueResponse.decode(bytes).version;
        else op.deleted = DeleteValueResponse.decode(bytes).deleted;
        acks += 1;
        if (acks === killAfterAcks) kill();
      } else if (outcome.kind === "status" && REFUSED.has(outcome.grpcStatus ?? -1)) {
        op.outcome = "refused";
        op.note = `status ${outcome.grpcStatus}`;
      } else {
        op.outcome = "unknown";
        op.note = `${outcome.kind} ${outcome.grpcStatus ?? outcome.errorCode ?? ""}`;
        if (
          outcome.kind === "status" &&
          outcome.grpcStatus !== 14 &&
          outcome.grpcStatus !== 1 &&
          outcome.grpcStatus !== 4
        ) {
          const name = `status ${outcome.grpcStatus}: ${outcome.grpcMessage ?? ""}`.slice(0, 80);
          unexpected[name] = (unexpected[name] ?? 0) + 1;
        }
        if (!killed && !server.alive()) killed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: options.writers ?? 16 }, (_, w) => writer(w)));
  clearTimeout(timer);
  kill();
  for (const s of sessions) s.destroy();
  return ops;
}

/** PRAGMA integrity_check on the killed server's database, opened read-only. */
function integrityCheck(dataDir: string): string {
  try {
    const db = new BetterSqlite3(join(dataDir, "hexclave.db"), {
      readonly: true,
      fileMustExist: true,
    });
    try {
      const rows = db.pragma("integrity_check") as { integrity_check: string }[];
      return rows.map((r) => r.integrity_check).join("; ");
    } finally {
      db.close();
    }
  } catch (error) {
    return `could not check: ${(error as Error).message}`;
  }
}

/** Every key's entry as the restarted server returns it. */
async function readBack(
  address: string,
  adminToken: string,
  keys: readonly KeyRef[],
): Promise<Map<number, KeyState>> {
  const session = connectRaw(address);
  try {
    const bytes = await unary(
      session,
      VaultServiceService.batchGetValues.path,
      BatchGetValuesRequest.encode({ storeId: STORE, keys: [...keys] }).finish(),
      adminToken,
    );
    const found = new Map<string, KeyState>();
    for (const e of BatchGetValuesResponse.decode(bytes).entries) {
      found.set(Buffer.from(e.keyId).toString("hex"), {
        version: e.version,
        value: Buffer.from(e.sealedValue).toString("hex"),
      });
    }
    return new Map(keys.map((k, i) => [i, found.get(Buffer.from(k.keyId).toString("hex"))]));
  } finally {
    session.destroy();
  }
}

/** Whether the store's counters agree with its entries; a description if not. */
async function checkCounters(address: string, adminToken: string): Promise<string | undefined> {
  const session = connectRaw(address);
  try {
    const store = GetStoreResponse.decode(
      await unary(
        session,
        AdminServiceService.getStore.path,
        GetStoreRequest.encode({ storeId: STORE }).finish(),
        adminToken,
      ),
    ).store;
    const listed = await rawCall(session, {
      path: VaultServiceService.listEntries.path,
      headers: { authorization: `Bearer ${adminToken}` },
      chunks: [
        grpcFrame(
          ListEntriesRequest.encode({
            storeId: STORE,
            secretFingerprints: [],
            startAfterKeyId: Buffer.alloc(0),
            pageSize: 0n,
          }).finish(),
        ),
      ],
      timeoutMs: 20_000,
    });
    const entries = grpcMessages(listed.body).flatMap((m) => ListEntriesResponse.decode(m).entries);
    const bytes = entries.reduce((sum, e) => sum + e.sealedValue.length, 0);
    if (store?.entryCount !== BigInt(entries.length) || store.totalValueBytes !== BigInt(bytes)) {
      return `store says ${store?.entryCount} entries / ${store?.totalValueBytes} bytes, ListEntries has ${entries.length} / ${bytes}`;
    }
    return undefined;
  } finally {
    session.destroy();
  }
}
