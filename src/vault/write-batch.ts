import type { AuditChain } from "./audit-chain.js";
import type { AuditRecord } from "./audit-record.js";
import type { DataKeyRing } from "./data-key-ring.js";
import { storeNotFound } from "./entry-rules.js";
import { StoreWrites } from "./entry-writes.js";
import { runSoloCommand } from "./solo-writes.js";
import type { WriteTransaction } from "./storage-port.js";
import { isVaultError } from "./vault-error.js";
import {
  type DeleteValueCommand,
  type RegisterSecretCommand,
  type SetValueCommand,
  SOLO_COMMANDS,
  type WriteCommand,
} from "./write-commands.js";

/** What a batch's commands need besides the transaction. */
export interface BatchContext {
  /** The data keys, to seal values at rest inside the transaction. */
  readonly keys: DataKeyRing;
  /** This writer's audit chain. */
  readonly audit: AuditChain;
}

/** A command's outcome: its result, or the VaultError that refused it (nothing written). */
export type CommandOutcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: unknown };

/** What a batch did, in command order, and what to do once it has committed. */
export interface BatchResult {
  readonly outcomes: readonly CommandOutcome[];
  /** Runs after commit (never after a rollback): drops destroyed keys, advances the audit chain. */
  readonly committed: () => void;
}

type EntryCommand = SetValueCommand | DeleteValueCommand | RegisterSecretCommand;

/**
 * Runs a batch of write commands in one transaction — the vault's half of
 * group commit (the storage adapter collects the batch and owns the
 * transaction). A solo command (see SOLO_COMMANDS) runs alone; the others
 * share the transaction:
 *
 * 1. each store the batch writes to is taken, in uid order (so processes
 *    taking several stores never deadlock);
 * 2. its secrets and the rows of every key id the batch names are read — the
 *    store is held, so they stay true until commit;
 * 3. the commands run in arrival order against that state (entry-writes.ts);
 *    one refused by a check fails alone and changes nothing;
 * 4. the result is written: the versions the writes took, as one increment
 *    of the store's counter; entries only over the rows that were read
 *    (conditional puts and deletes); secrets if absent; counts by increment;
 *    token use; audit records.
 *
 * @throws Error (not VaultError) when the database fails or a conditional
 *   write finds the database changed: the adapter rolls back and retries.
 */
export async function runWriteBatch(
  tx: WriteTransaction,
  commands: readonly WriteCommand[],
  context: BatchContext,
): Promise<BatchResult> {
  const [first] = commands;
  if (commands.length === 1 && first !== undefined && SOLO_COMMANDS.has(first.kind)) {
    const audit = context.audit.begin();
    try {
      const { value, committed } = await runSoloCommand(first, tx, context.keys);
      const record = "audit" in first ? first.audit : undefined;
      if (record !== undefined) await tx.appendAudit(audit.chain([record]));
      return {
        outcomes: [{ ok: true, value }],
        committed: () => {
          committed();
          audit.commit();
        },
      };
    } catch (error) {
      if (!isVaultError(error)) throw error;
      return { outcomes: [{ ok: false, error }], committed: () => audit.commit() };
    }
  }
  return runSharedBatch(tx, commands, context);
}

async function runSharedBatch(
  tx: WriteTransaction,
  commands: readonly WriteCommand[],
  context: BatchContext,
): Promise<BatchResult> {
  const now = Date.now();
  const stores = await takeStores(tx, commands, context.keys, now);
  const outcomes: CommandOutcome[] = [];
  const touched = new Set<string>();
  let touchedAt = 0;
  const audit = context.audit.begin();
  // Audit records in arrival order: a write's own only if it succeeded (its refusal is
  // recorded by the caller), and the records of reads and refusals handed over as they are.
  const records: AuditRecord[] = [];
  for (const command of commands) {
    try {
      outcomes.push({ ok: true, value: runShared(command, stores) });
      if (command.kind === "touchTokens") {
        for (const id of command.ids) touched.add(id);
        touchedAt = Math.max(touchedAt, command.at);
      } else if (command.kind === "appendAudit") {
        records.push(...command.records);
      } else if ("audit" in command && command.audit !== undefined) {
        records.push(command.audit);
      }
    } catch (error) {
      if (!isVaultError(error)) throw error;
      outcomes.push({ ok: false, error });
    }
  }
  for (const writes of stores.values()) {
    if (writes === undefined) continue;
    const { storeUid, puts, deletes, secrets, counts, versionsUsed, lastVersion } =
      writes.changes();
    if (versionsUsed > 0) {
      // The versions the writes took, from the database's counter: held since the start, it
      // must land exactly on the last one handed out.
      const taken = await tx.takeVersions(storeUid, versionsUsed);
      if (taken?.lastVersion !== lastVersion) {
        throw new Error(
          "a store's version counter moved under a held store: the transaction is retried",
        );
      }
    }
    for (const secret of secrets) {
      await tx.insertSecret(storeUid, secret.fingerprint, secret.registeredAt);
    }
    const written = (await tx.putEntries(puts)) + (await tx.deleteEntries(deletes));
    if (written !== puts.length + deletes.length) {
      // Cannot happen while the store is held; if it does, nothing of this batch commits.
      throw new Error("an entry changed under a held store: the transaction is retried");
    }
    await tx.addCounts(counts);
  }
  if (touched.size > 0) await tx.touchTokens([...touched], touchedAt);
  if (records.length > 0) await tx.appendAudit(audit.chain(records));
  return { outcomes, committed: () => audit.commit() };
}

/**
 * Takes every store the batch's entry commands write to, in uid order, with
 * one version per SetValue, and loads what their commands need.
 */
async function takeStores(
  tx: WriteTransaction,
  commands: readonly WriteCommand[],
  keys: DataKeyRing,
  now: number,
): Promise<Map<string, StoreWrites | undefined>> {
  const byStore = new Map<string, { uid: Buffer; commands: EntryCommand[] }>();
  for (const command of commands) {
    if (!isEntryCommand(command)) continue;
    const key = command.storeUid.toString("hex");
    const group = byStore.get(key) ?? { uid: command.storeUid, commands: [] };
    group.commands.push(command);
    byStore.set(key, group);
  }
  const stores = new Map<string, StoreWrites | undefined>();
  for (const key of [...byStore.keys()].sort()) {
    const { uid, commands: mine } = byStore.get(key) as { uid: Buffer; commands: EntryCommand[] };
    // Taken with no versions yet: a write its checks refuse must leave the counter alone.
    const store = await tx.takeVersions(uid, 0);
    if (store === undefined) {
      stores.set(key, undefined);
      continue;
    }
    const keyIds = new Map<string, Buffer>();
    for (const c of mine) {
      const refs =
        c.kind === "setValue" ? [c.key, ...c.previous] : c.kind === "deleteValue" ? c.refs : [];
      for (const r of refs) keyIds.set(r.keyId.toString("latin1"), r.keyId);
    }
    // One after the other: a transaction is one connection, which runs one query at a time
    // (node-postgres only queues a second one, deprecated, and pg 9 refuses it).
    const secrets = await tx.listSecrets(uid);
    const rows = keyIds.size === 0 ? [] : await tx.getEntries(uid, [...keyIds.values()], null);
    stores.set(key, new StoreWrites(store, keys.keyFor(store), secrets, rows, now));
  }
  return stores;
}

function runShared(
  command: WriteCommand,
  stores: ReadonlyMap<string, StoreWrites | undefined>,
): unknown {
  if (!isEntryCommand(command)) {
    if (command.kind === "touchTokens" || command.kind === "appendAudit") return undefined;
    throw new Error(`${command.kind} runs alone in its transaction, not in a batch`);
  }
  const writes = stores.get(command.storeUid.toString("hex"));
  if (writes === undefined) throw storeNotFound(command.storeId);
  switch (command.kind) {
    case "setValue":
      return writes.setValue(command);
    case "deleteValue":
      return writes.deleteValue(command);
    case "registerSecret":
      return writes.registerSecret(command);
  }
}

function isEntryCommand(command: WriteCommand): command is EntryCommand {
  return (
    command.kind === "setValue" ||
    command.kind === "deleteValue" ||
    command.kind === "registerSecret"
  );
}
