// One more writer on a test's database, in a process of its own: the storage
// contract's concurrency tests fork several (test/storage/support/writer-processes.ts)
// and drive them over IPC. It runs the BUILT adapters (`npm test` builds dist
// first), exactly as a second `hexclave serve` would, so what two processes do
// to one database is tested, not what two connections in one process do.
//
// Messages in (serialization "advanced": Buffers arrive as Buffers):
//   { id, type: "open", dataDir, databaseUrl, masterKey, groupId }
//   { id, type: "chains", chains: WriteCommand[][] }  each chain in order, chains at once
//   { id, type: "casLoop", command, attempts, loops } read the entry, write expecting that version
//   { id, type: "close" }
// Each answer is { id, ok: true, value } or { id, ok: false, error }.
import { openStorage } from "../../../dist/src/storage/open-storage.js";
import { serverIdentity } from "../../../dist/src/storage/server-registry.js";

/** The storage this process writes to, once opened. */
let storage;

/** An outcome as the parent compares them: a VaultError keeps its reason, anything else its text. */
function outcome(promise) {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error) => ({
      ok: false,
      reason: typeof error?.reason === "string" ? error.reason : undefined,
      message: error instanceof Error ? error.message : String(error),
    }),
  );
}

async function runChain(chain) {
  const outcomes = [];
  for (const command of chain) outcomes.push(await outcome(storage.write(command)));
  return outcomes;
}

/**
 * Check-and-set the way a client does it: read the entry's version, write
 * expecting it, `attempts` times per loop, `loops` loops at once. Returns
 * every attempt as { expected, version } (won) or { expected, reason } (lost).
 */
async function casLoop({ command, attempts, loops }) {
  const one = async () => {
    const tries = [];
    for (let i = 0; i < attempts; i++) {
      const [row] = await storage.reads.getEntries(
        command.storeUid,
        [command.key.keyId],
        Date.now(),
      );
      const expected = row?.version ?? 0;
      const sealed = Buffer.from(`cas by ${process.pid} #${i} over ${expected}`);
      const result = await outcome(storage.write({ ...command, sealed, expected }));
      tries.push(
        result.ok
          ? { expected, version: result.value.version }
          : { expected, reason: result.reason ?? result.message },
      );
    }
    return tries;
  };
  return (await Promise.all(Array.from({ length: loops }, one))).flat();
}

async function handle(message) {
  switch (message.type) {
    case "open":
      storage = await openStorage({
        dataDir: message.dataDir,
        databaseUrl: message.databaseUrl,
        masterKeys: [message.masterKey],
        server: serverIdentity(message.groupId),
        // SQLite: one group of processes on one file (as `--workers` runs them), so no
        // data-directory lock; the registry refuses a process of another group.
        shared: true,
      });
      return undefined;
    case "chains":
      return Promise.all(message.chains.map(runChain));
    case "casLoop":
      return casLoop(message);
    case "close":
      await storage?.close();
      storage = undefined;
      return undefined;
    default:
      throw new Error(`unknown message type ${message.type}`);
  }
}

process.on("message", (message) => {
  handle(message).then(
    (value) => process.send({ id: message.id, ok: true, value }),
    (error) => process.send({ id: message.id, ok: false, error: String(error?.stack ?? error) }),
  );
});
process.on("disconnect", () => {
  void (storage?.close() ?? Promise.resolve()).finally(() => process.exit(0));
});
process.send({ ready: true });
