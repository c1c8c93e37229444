import { sealAtRest } from "../crypto/at-rest.js";
import type { ValidKeyRef } from "./assertions.js";
import { checkVersion, newest, sealedSize, storeNotFound, uniqueKeyIds } from "./entry-rules.js";
import { readAllowed, unknownSecret, writeRegisters } from "./secret-policy.js";
import type {
  CountDelta,
  EntryDelete,
  EntryPut,
  EntryRow,
  SecretRow,
  StoreRow,
} from "./storage-port.js";
import type {
  DeleteValueCommand,
  RegisterSecretCommand,
  SetValueCommand,
  WriteResults,
} from "./write-commands.js";

/**
 * How SetValue, DeleteValue and RegisterSecret run: against one store's
 * state inside a write transaction (write-batch.ts takes the store, loads
 * this state, and writes the result). Where a SetValue's version comes from:
 * the store's counter, read when the transaction took the store (from then
 * to commit no other writer can move it); each SetValue that passes its
 * checks takes the next number here, in the order the writes arrived, and
 * the transaction then adds what was taken to the counter in one increment.
 * Versions are store-wide and increasing, so among an entry's copies under
 * several secrets the highest version is the one written last; a refused
 * write takes none.
 *
 * Every method checks first and changes the state only once its checks
 * passed, so a write that is refused leaves nothing behind for the writes
 * after it in the same transaction.
 */
export class StoreWrites {
  readonly #store: StoreRow;
  readonly #dataKey: Buffer;
  readonly #secrets: Map<string, SecretRow>;
  /** Each touched key's row when the transaction read it, and now (null: no row). */
  readonly #rows = new Map<string, { readonly before: EntryRow | null; now: EntryRow | null }>();
  readonly #newSecrets: SecretRow[] = [];
  #nextVersion: number;
  readonly #now: number;

  /**
   * @param store the store as the transaction took it (its counter as it stands).
   * @param rows the rows of every key id the batch names, expired ones included.
   */
  constructor(
    store: StoreRow,
    dataKey: Buffer,
    secrets: readonly SecretRow[],
    rows: readonly EntryRow[],
    now: number,
  ) {
    this.#store = store;
    this.#dataKey = dataKey;
    this.#nextVersion = store.lastVersion + 1;
    this.#secrets = new Map(secrets.map((s) => [s.fingerprint.toString("hex"), s]));
    for (const row of rows) this.#rows.set(row.keyId.toString("latin1"), { before: row, now: row });
    this.#now = now;
  }

  /** Writes an entry: secret rules, check-and-set, at-rest sealing, removal of previous copies. */
  setValue(cmd: SetValueCommand): WriteResults["setValue"] {
    this.#assertStore(cmd.storeId, cmd.storeUid);
    const register = writeRegisters(cmd.storeId, this.#secrets, cmd.key, cmd.previous);
    const copies = this.#live([cmd.key, ...cmd.previous]);
    checkVersion(newest(copies), cmd.expected);
    const version = this.#nextVersion;
    this.#nextVersion += 1;
    // Checks passed: from here on the write happens.
    if (register) this.#register(cmd.key.fingerprint);
    const removed: Buffer[] = [];
    for (const ref of cmd.previous) {
      if (this.#take(ref.keyId) !== null) removed.push(ref.keyId);
    }
    this.#slot(cmd.key.keyId).now = {
      keyId: cmd.key.keyId,
      fingerprint: cmd.key.fingerprint,
      blob: sealAtRest(this.#dataKey, cmd.storeId, cmd.key.keyId, cmd.sealed),
      version,
      updatedAt: this.#now,
      expiresAt: cmd.expiresAt,
    };
    return {
      version,
      updatedAt: this.#now,
      removedKeyIds: removed,
      secrets: register ? [...this.#secrets.values()] : undefined,
    };
  }

  /** Deletes an entry under every given key id. */
  deleteValue(cmd: DeleteValueCommand): WriteResults["deleteValue"] {
    this.#assertStore(cmd.storeId, cmd.storeUid);
    if (!readAllowed(this.#secrets, cmd.refs)) {
      throw unknownSecret(cmd.storeId, cmd.refs, this.#secrets);
    }
    const live = this.#live(cmd.refs);
    checkVersion(newest(live), cmd.expected);
    const removed: Buffer[] = [];
    for (const keyId of uniqueKeyIds(cmd.refs)) {
      if (this.#take(keyId) !== null) removed.push(keyId);
    }
    return { deleted: live.length > 0, removedKeyIds: removed };
  }

  /** Registers a secret (idempotent), guarded by one the store knows. */
  registerSecret(cmd: RegisterSecretCommand): WriteResults["registerSecret"] {
    this.#assertStore(cmd.storeId, cmd.storeUid);
    const hex = cmd.fingerprint.toString("hex");
    if (this.#secrets.has(hex)) return { secrets: undefined };
    const known = cmd.known === undefined ? undefined : cmd.known.toString("hex");
    if (this.#secrets.size > 0 && (known === undefined || !this.#secrets.has(known))) {
      const presented =
        cmd.known === undefined ? [] : [{ keyId: Buffer.alloc(0), fingerprint: cmd.known }];
      throw unknownSecret(cmd.storeId, presented, this.#secrets);
    }
    this.#register(cmd.fingerprint);
    return { secrets: [...this.#secrets.values()] };
  }

  /** What the transaction must write for this store: puts, deletes, new secrets, count changes. */
  changes(): {
    readonly storeUid: Buffer;
    /** Versions the writes took, and the last of them. */
    readonly versionsUsed: number;
    readonly lastVersion: number;
    readonly puts: EntryPut[];
    readonly deletes: EntryDelete[];
    readonly secrets: readonly SecretRow[];
    readonly counts: CountDelta[];
  } {
    const uid = this.#store.uid;
    const puts: EntryPut[] = [];
    const deletes: EntryDelete[] = [];
    const counts = new Map<string, CountDelta>();
    const count = (row: EntryRow, sign: 1 | -1): void => {
      const hex = row.fingerprint.toString("hex");
      const sum = counts.get(hex);
      counts.set(hex, {
        storeUid: uid,
        fingerprint: row.fingerprint,
        entries: (sum?.entries ?? 0) + sign,
        bytes: (sum?.bytes ?? 0) + sign * sealedSize(row),
      });
    };
    for (const { before, now } of this.#rows.values()) {
      if (before === now) continue;
      if (now !== null) puts.push({ storeUid: uid, row: now, replacing: before?.version });
      else if (before !== null) {
        deletes.push({ storeUid: uid, keyId: before.keyId, version: before.version });
      }
      if (before !== null) count(before, -1);
      if (now !== null) count(now, 1);
    }
    return {
      storeUid: uid,
      versionsUsed: this.#nextVersion - 1 - this.#store.lastVersion,
      lastVersion: this.#nextVersion - 1,
      puts,
      deletes,
      secrets: this.#newSecrets,
      counts: [...counts.values()],
    };
  }

  /** The rows of `refs` that exist and have not expired. */
  #live(refs: readonly ValidKeyRef[]): EntryRow[] {
    const rows: EntryRow[] = [];
    for (const keyId of uniqueKeyIds(refs)) {
      const row = this.#rows.get(keyId.toString("latin1"))?.now ?? null;
      if (row !== null && (row.expiresAt === null || row.expiresAt > this.#now)) rows.push(row);
    }
    return rows;
  }

  /** Removes a key's row (expired or not); returns what was there. */
  #take(keyId: Buffer): EntryRow | null {
    const slot = this.#slot(keyId);
    const was = slot.now;
    slot.now = null;
    return was;
  }

  #slot(keyId: Buffer): { readonly before: EntryRow | null; now: EntryRow | null } {
    const key = keyId.toString("latin1");
    let slot = this.#rows.get(key);
    if (slot === undefined) {
      slot = { before: null, now: null };
      this.#rows.set(key, slot);
    }
    return slot;
  }

  #register(fingerprint: Buffer): void {
    const row = { fingerprint, entryCount: 0, registeredAt: this.#now };
    this.#secrets.set(fingerprint.toString("hex"), row);
    this.#newSecrets.push(row);
  }

  #assertStore(storeId: string, storeUid: Buffer): void {
    if (storeId !== this.#store.id || !storeUid.equals(this.#store.uid)) {
      throw storeNotFound(storeId);
    }
  }
}
