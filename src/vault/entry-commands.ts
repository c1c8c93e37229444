import { sealAtRest } from "../crypto/at-rest.js";
import { checkVersion, newest, sealedSize, storeNotFound, uniqueKeyIds } from "./entry-rules.js";
import type { RepositoryTransaction, SecretRow, StoreRow } from "./repository.js";
import { readAllowed, unknownSecret, writeRegisters } from "./secret-policy.js";
import { VaultError } from "./vault-error.js";
import type { WriteBatch } from "./write-batcher.js";
import type {
  CommandRunner,
  DeleteValueCommand,
  RegisterSecretCommand,
  RetireSecretCommand,
  SetValueCommand,
} from "./write-command.js";

/** The store, if it is still live in this transaction and is the one the caller looked up. */
async function liveStore(
  tx: RepositoryTransaction,
  batch: WriteBatch,
  storeId: string,
  storeUid: Buffer,
): Promise<StoreRow> {
  const live = await batch.liveStore(storeId, () => tx.findStore(storeId));
  if (live === undefined || !live.uid.equals(storeUid)) throw storeNotFound(storeId);
  return live;
}

/** Writes an entry: secret rules, check-and-set, at-rest sealing, removal of previous copies. */
export const runSetValue: CommandRunner<SetValueCommand> = async (cmd, tx, batch, context) => {
  const store = await liveStore(tx, batch, cmd.storeId, cmd.storeUid);
  const uid = store.uid;
  const secrets = await batch.secretsOf(uid);
  const register = writeRegisters(cmd.storeId, secrets, cmd.key, cmd.previous);
  const refs = [cmd.key, ...cmd.previous];
  const rows = await tx.getEntries(uid, uniqueKeyIds(refs));
  checkVersion(newest(rows), cmd.expected);
  const blob = sealAtRest(context.keys.keyFor(store), cmd.storeId, cmd.key.keyId, cmd.sealed);
  const now = Date.now();
  const version = batch.nextVersion(store);
  if (register) {
    await tx.insertSecret(uid, cmd.key.fingerprint, now);
    secrets.set(cmd.key.fingerprint.toString("hex"), {
      fingerprint: cmd.key.fingerprint,
      entryCount: 0,
      registeredAt: now,
    });
  }
  await tx.putEntry(uid, {
    keyId: cmd.key.keyId,
    fingerprint: cmd.key.fingerprint,
    blob,
    version,
    updatedAt: now,
  });
  const removed = rows.filter((r) => !r.keyId.equals(cmd.key.keyId)).map((r) => r.keyId);
  await tx.deleteEntries(uid, removed);
  batch.count(uid, cmd.key.fingerprint, 1, cmd.sealed.length);
  for (const r of rows) batch.count(uid, r.fingerprint, -1, -sealedSize(r));
  return {
    version,
    updatedAt: now,
    removedKeyIds: removed,
    secrets: register ? [...secrets.values()] : undefined,
  };
};

/** Deletes an entry under every given key id. */
export const runDeleteValue: CommandRunner<DeleteValueCommand> = async (cmd, tx, batch) => {
  const { uid } = await liveStore(tx, batch, cmd.storeId, cmd.storeUid);
  const secrets = await batch.secretsOf(uid);
  if (!readAllowed(secrets, cmd.refs)) throw unknownSecret(cmd.storeId, cmd.refs, secrets);
  const rows = await tx.getEntries(uid, uniqueKeyIds(cmd.refs));
  checkVersion(newest(rows), cmd.expected);
  const removed = rows.map((r) => r.keyId);
  await tx.deleteEntries(uid, removed);
  for (const r of rows) batch.count(uid, r.fingerprint, -1, -sealedSize(r));
  return { deleted: rows.length > 0, removedKeyIds: removed };
};

/** Registers a secret (idempotent), guarded by one the store knows. */
export const runRegisterSecret: CommandRunner<RegisterSecretCommand> = async (cmd, tx, batch) => {
  const { uid } = await liveStore(tx, batch, cmd.storeId, cmd.storeUid);
  const secrets = await batch.secretsOf(uid);
  const hex = cmd.fingerprint.toString("hex");
  if (secrets.has(hex)) return { secrets: undefined };
  if (secrets.size > 0 && (cmd.known === undefined || !secrets.has(cmd.known.toString("hex")))) {
    const presented =
      cmd.known === undefined ? [] : [{ keyId: Buffer.alloc(0), fingerprint: cmd.known }];
    throw unknownSecret(cmd.storeId, presented, secrets);
  }
  const now = Date.now();
  await tx.insertSecret(uid, cmd.fingerprint, now);
  secrets.set(hex, { fingerprint: cmd.fingerprint, entryCount: 0, registeredAt: now });
  return { secrets: snapshot(secrets) };
};

/** Retires a secret (idempotent) once no entry is sealed under it. */
export const runRetireSecret: CommandRunner<RetireSecretCommand> = async (cmd, tx, batch) => {
  const { uid } = await liveStore(tx, batch, cmd.storeId, cmd.storeUid);
  const secrets = await batch.secretsOf(uid);
  const hex = cmd.fingerprint.toString("hex");
  if (!secrets.has(hex)) return { secrets: undefined };
  // The entries themselves are the authority, not the counters.
  const remaining = await tx.listEntries(uid, {
    fingerprints: [cmd.fingerprint],
    afterKeyId: undefined,
    limit: 1,
  });
  if (remaining.length > 0) {
    throw new VaultError(
      "SECRET_IN_USE",
      `entries in store "${cmd.storeId}" are still sealed under secret ${hex}: re-seal them first ("hexclave rotate-secret ${cmd.storeId}")`,
      { metadata: { store_id: cmd.storeId, fingerprint: hex } },
    );
  }
  await tx.deleteSecret(uid, cmd.fingerprint);
  secrets.delete(hex);
  return { secrets: snapshot(secrets) };
};

function snapshot(secrets: ReadonlyMap<string, SecretRow>): SecretRow[] {
  return [...secrets.values()];
}
