import { randomBytes } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { credentials, Metadata } from "@grpc/grpc-js";
import { AdminServiceClient } from "../../gen/hexclave/v1/admin_service.js";
import { generateSecret, HexclaveClient } from "../../src/client/index.js";

/** One stretch of load. */
export interface LoadPhase {
  readonly seconds: number;
  /** Callers at once, each making one call after another. */
  readonly concurrency: number;
  /** Share of calls that write: SetValue (a fifth with a 3 s lifetime) and DeleteValue. */
  readonly writes: number;
  /**
   * Share of calls the server refuses as a client's mistake: an unknown
   * token (UNAUTHENTICATED), a missing store (NOT_FOUND), a stale version
   * (ABORTED) — what the error panels show and the error alert must ignore.
   */
  readonly refused: number;
  /** Pause after each call, per caller, in ms: keeps the load light on a shared machine. */
  readonly pauseMs: number;
}

/** What a load did, by outcome. */
export interface LoadStats {
  ok: number;
  refused: number;
  /** Anything else: a server fault or a broken connection. */
  failed: number;
}

/** A running load. */
export interface MixedLoad {
  readonly stats: Readonly<LoadStats>;
  /** Resolves when every phase has run (or after stop()). */
  readonly done: Promise<LoadStats>;
  /** Ends the load early; resolves once every call in flight has settled. */
  stop(): Promise<LoadStats>;
}

const STORE_ID = "grafana-load";
const KEYS = 300;
const CLIENT_MISTAKES = new Set(["UNAUTHENTICATED", "STORE_NOT_FOUND", "VERSION_CONFLICT"]);

/**
 * Drives a Hexclave server the way an application does, through the client
 * SDK (values sealed in this process): reads (GetValue, BatchGetValues),
 * writes, expiring entries, and a share of refused calls — so every panel
 * of the dashboard has something to show. Calls are bounded by the phases'
 * lengths; the server only ever sees loopback traffic from here.
 *
 * @example
 * const load = await startMixedLoad(hexclave.address, hexclave.adminToken, [
 *   { seconds: 10, concurrency: 4, writes: 0.2, refused: 0.05, pauseMs: 2 },
 * ]);
 * await load.done;
 */
export async function startMixedLoad(
  address: string,
  adminToken: string,
  phases: readonly LoadPhase[],
): Promise<MixedLoad> {
  await createStore(address, adminToken);
  const client = new HexclaveClient({ address, token: adminToken });
  const stranger = new HexclaveClient({
    address,
    token: `hxk_${randomBytes(12).toString("hex")}_x`,
  });
  const secret = generateSecret();
  const store = await client.getDataVaultStore(STORE_ID);
  const keyOf = (i: number): string => `user:${i}`;
  const value = (): string =>
    `ghr_${randomBytes(18 + Math.floor(Math.random() * 60)).toString("base64url")}`;
  for (let start = 0; start < KEYS; start += 50) {
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => store.setValue(keyOf(start + i), value(), { secret })),
    );
  }
  const anyKey = (): string => keyOf(Math.floor(Math.random() * KEYS));

  const stats: LoadStats = { ok: 0, refused: 0, failed: 0 };
  let stopped = false;
  const oneCall = async (phase: LoadPhase): Promise<void> => {
    const dice = Math.random();
    if (dice < phase.refused) {
      const which = Math.floor(Math.random() * 3);
      if (which === 0) await stranger.getDataVaultStore(STORE_ID);
      else if (which === 1) await client.getDataVaultStore("no-such-store");
      else await store.setValue(anyKey(), value(), { secret, ifVersion: 1_000_000 });
    } else if (dice < phase.refused + phase.writes) {
      const kind = Math.random();
      if (kind < 0.1)
        await store.deleteValue(keyOf(KEYS + Math.floor(Math.random() * 50)), { secret });
      else if (kind < 0.3) {
        await store.setValue(keyOf(KEYS + Math.floor(Math.random() * 50)), value(), {
          secret,
          expiresIn: 3_000,
        });
      } else await store.setValue(anyKey(), value(), { secret });
    } else if (dice < phase.refused + phase.writes + 0.1) {
      await store.getValues(Array.from({ length: 10 }, anyKey), { secret });
    } else {
      await store.getValue(anyKey(), { secret });
    }
  };
  const caller = async (phase: LoadPhase, until: number): Promise<void> => {
    while (!stopped && Date.now() < until) {
      try {
        await oneCall(phase);
        stats.ok += 1;
      } catch (error) {
        if (CLIENT_MISTAKES.has((error as { code?: string }).code ?? "")) stats.refused += 1;
        else stats.failed += 1;
      }
      await delay(phase.pauseMs);
    }
  };
  const done = (async () => {
    try {
      for (const phase of phases) {
        if (stopped) break;
        const until = Date.now() + phase.seconds * 1000;
        await Promise.all(Array.from({ length: phase.concurrency }, () => caller(phase, until)));
      }
    } finally {
      client.close();
      stranger.close();
    }
    return { ...stats };
  })();
  return {
    stats,
    done,
    async stop() {
      stopped = true;
      return done;
    },
  };
}

/** Creates the load's store with the admin token (AdminService/CreateStore). */
function createStore(address: string, adminToken: string): Promise<void> {
  const admin = new AdminServiceClient(address, credentials.createInsecure());
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${adminToken}`);
  return new Promise<void>((resolve, reject) => {
    admin.createStore(
      { storeId: STORE_ID, description: "load for the Grafana dashboard's picture and test" },
      metadata,
      { deadline: Date.now() + 10_000 },
      (error) => (error === null ? resolve() : reject(error)),
    );
  }).finally(() => admin.close());
}
