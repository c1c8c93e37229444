import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStorage } from "../../src/storage/open-storage.js";
import { serverIdentity } from "../../src/storage/server-registry.js";
import type { ValidKeyRef } from "../../src/vault/assertions.js";
import type { Storage, StoreRow } from "../../src/vault/storage-port.js";
import type { WriteCommand, WriteResults } from "../../src/vault/write-commands.js";
import { forEachBackend } from "../support/backends.js";
import {
  allEntries,
  deleteValue,
  expectCountsMatchContents,
  newStoreRow,
  newTokenRow,
  ref,
  refusal,
  registerSecret,
  setValue,
  storeState,
} from "./support/contract-commands.js";
import {
  type CasAttempt,
  type Outcome,
  startWriters,
  type WriterProcess,
  type WriterTarget,
} from "./support/writer-processes.js";

/**
 * The storage port's contract (src/vault/storage-port.ts), run against every
 * adapter on a real database, as kysely tests its dialects: each rule the
 * database must enforce, through `storage.write` and the reads. Then the same
 * rules under contention from several writer processes at once — what
 * several `hexclave serve` on one PostgreSQL database (or one `--workers`
 * group on one SQLite file) do to it.
 */

const masterKey = randomBytes(32);
const WRITERS = 3;

forEachBackend((backend) => {
  const opened: Storage[] = [];

  /** Fresh, empty storage, opened as a server of group `groupId` would open it. */
  async function openFresh(): Promise<{ storage: Storage; target: WriterTarget }> {
    const { dataDir, databaseUrl } = await backend.fresh();
    const target = { dataDir, databaseUrl, masterKey, groupId: randomBytes(8).toString("hex") };
    const storage = await openStorage({
      dataDir,
      databaseUrl,
      masterKeys: [masterKey],
      server: serverIdentity(target.groupId),
      // SQLite: the processes of one group share the file and skip the data-dir lock.
      shared: true,
    });
    opened.push(storage);
    return { storage, target };
  }

  afterAll(async () => {
    for (const storage of opened) await storage.close();
  });

  describe("rules the database enforces", () => {
    let storage: Storage;
    let stores = 0;
    const A = randomBytes(8);

    beforeAll(async () => {
      ({ storage } = await openFresh());
    });

    async function createStore(): Promise<StoreRow> {
      stores += 1;
      const row = newStoreRow(masterKey, `contract-${stores}`);
      await storage.write({ kind: "createStore", row });
      return row;
    }

    const write = <C extends WriteCommand>(command: C) => storage.write(command);
    const versionOf = async (command: WriteCommand) =>
      ((await write(command)) as WriteResults["setValue"]).version;
    const lastVersion = async (store: StoreRow) =>
      (await storage.reads.findStore(store.id))?.lastVersion;

    it("versions are store-wide and increasing, and a deleted entry's version is never reused", async () => {
      const s = await createStore();
      const other = await createStore();
      const [k1, k2, k3] = [ref(A), ref(A), ref(A)] as [ValidKeyRef, ValidKeyRef, ValidKeyRef];
      expect(await versionOf(setValue(s, k1))).toBe(1);
      expect(await versionOf(setValue(s, k2))).toBe(2);
      expect(await versionOf(setValue(s, k1))).toBe(3);
      expect(await write(deleteValue(s, [k2]))).toMatchObject({ deleted: true });
      expect(await versionOf(setValue(s, k2))).toBe(4);
      expect(await write(deleteValue(s, [k1, k2]))).toMatchObject({ deleted: true });
      expect(await versionOf(setValue(s, k1))).toBe(5);
      expect(await versionOf(setValue(s, k3))).toBe(6);
      // Another store counts on its own.
      expect(await versionOf(setValue(other, ref(A)))).toBe(1);
      expect(await lastVersion(s)).toBe(6);
      const rows = await storage.reads.getEntries(s.uid, [k1.keyId, k2.keyId, k3.keyId], null);
      expect(rows.map((r) => r.version).sort()).toEqual([5, 6]);
    });

    it("a refused write changes nothing, not even the store's version counter", async () => {
      const s = await createStore();
      const k1 = ref(A);
      await write(setValue(s, k1));
      await write(setValue(s, ref(A)));
      const unknown = randomBytes(8);
      const before = await storeState(storage.reads, s);
      const refusals: [string, WriteCommand][] = [
        ["VERSION_CONFLICT", setValue(s, k1, { expected: 7 })],
        ["VERSION_CONFLICT", setValue(s, k1, { expected: 0 })],
        ["VERSION_CONFLICT", setValue(s, ref(A), { expected: 1 })],
        ["VERSION_CONFLICT", deleteValue(s, [k1], 5)],
        ["UNKNOWN_SECRET", setValue(s, ref(unknown))],
        ["UNKNOWN_SECRET", setValue(s, ref(unknown), { previous: [ref(randomBytes(8))] })],
        ["UNKNOWN_SECRET", deleteValue(s, [ref(unknown, k1.keyId)])],
        ["UNKNOWN_SECRET", registerSecret(s, randomBytes(8), unknown)],
        ["UNKNOWN_SECRET", registerSecret(s, randomBytes(8), undefined)],
        ["STORE_NOT_FOUND", setValue({ ...s, uid: randomBytes(16) }, ref(A))],
        ["STORE_NOT_FOUND", setValue({ ...s, id: "contract-elsewhere" }, ref(A))],
        ["STORE_NOT_FOUND", deleteValue({ ...s, uid: randomBytes(16) }, [k1])],
        ["STORE_NOT_FOUND", { kind: "destroyStoreKey", storeId: "contract-never" }],
        ["SECRET_IN_USE", { kind: "retireSecret", storeId: s.id, storeUid: s.uid, fingerprint: A }],
        ["STORE_ALREADY_EXISTS", { kind: "createStore", row: newStoreRow(masterKey, s.id) }],
      ];
      for (const [reason, command] of refusals) {
        expect(await refusal(write(command)), command.kind).toBe(reason);
        expect(await storeState(storage.reads, s), `${command.kind} ${reason}`).toEqual(before);
      }
      // Refused in the same transaction as a write that passes: it still takes no version.
      const together = await Promise.allSettled([
        ...refusals.slice(0, 12).map(([, command]) => write(command)),
        write(setValue(s, ref(A))),
      ]);
      expect(together.slice(0, 12).every((r) => r.status === "rejected")).toBe(true);
      expect(together.at(-1)).toMatchObject({ status: "fulfilled", value: { version: 3 } });
      expect(await lastVersion(s)).toBe(3);
      await expectCountsMatchContents(storage, s.id);
    });

    it("check-and-set: 0 means absent, a version means exactly that one, across previous keys", async () => {
      const s = await createStore();
      const k = ref(A);
      expect(await versionOf(setValue(s, k, { expected: 0 }))).toBe(1);
      expect(await refusal(write(setValue(s, k, { expected: 0 })))).toBe("VERSION_CONFLICT");
      expect(await versionOf(setValue(s, k, { expected: 1 }))).toBe(2);
      expect(await refusal(write(deleteValue(s, [k], 1)))).toBe("VERSION_CONFLICT");
      expect(await write(deleteValue(s, [k], 2))).toMatchObject({ deleted: true });
      expect(await write(deleteValue(s, [k], 0))).toMatchObject({ deleted: false });
      expect(await versionOf(setValue(s, k, { expected: 0 }))).toBe(3);

      // Rotation: B is registered alongside A; the entry moves from A's key to B's.
      const B = randomBytes(8);
      const kB = ref(B);
      expect(await write(registerSecret(s, B, A))).toMatchObject({ secrets: expect.any(Array) });
      expect(await refusal(write(setValue(s, kB, { previous: [k], expected: 0 })))).toBe(
        "VERSION_CONFLICT",
      );
      expect(await refusal(write(setValue(s, kB, { previous: [k], expected: 2 })))).toBe(
        "VERSION_CONFLICT",
      );
      const moved = await write(setValue(s, kB, { previous: [k], expected: 3 }));
      expect(moved.version).toBe(4);
      expect(moved.removedKeyIds).toEqual([k.keyId]);
      expect(await storage.reads.getEntries(s.uid, [k.keyId], null)).toEqual([]);
      await expectCountsMatchContents(storage, s.id);

      // Both copies exist (a writer on A that did not name B): the newest decides.
      expect(await versionOf(setValue(s, k))).toBe(5);
      expect(await refusal(write(setValue(s, kB, { previous: [k], expected: 4 })))).toBe(
        "VERSION_CONFLICT",
      );
      expect(await refusal(write(deleteValue(s, [kB, k], 4)))).toBe("VERSION_CONFLICT");
      expect(await write(deleteValue(s, [kB, k], 5))).toMatchObject({
        deleted: true,
        removedKeyIds: expect.arrayContaining([k.keyId, kB.keyId]),
      });
      expect(await storage.reads.getEntries(s.uid, [k.keyId, kB.keyId], null)).toEqual([]);
      await expectCountsMatchContents(storage, s.id);
    });

    it("an expired entry is absent for reads and check-and-set, and the sweep removes it, counts kept right", async () => {
      const s = await createStore();
      const past = Date.now() - 60_000;
      const [gone, alsoGone, reborn, live] = [ref(A), ref(A), ref(A), ref(A)];
      const v = await versionOf(setValue(s, gone, { expiresAt: past }));
      await write(setValue(s, alsoGone, { expiresAt: past }));
      await write(setValue(s, reborn, { expiresAt: past }));
      await write(setValue(s, live, { expiresAt: Date.now() + 3_600_000 }));
      const now = Date.now();
      expect(await storage.reads.getEntries(s.uid, [gone.keyId], now)).toEqual([]);
      expect(await storage.reads.getEntries(s.uid, [gone.keyId, live.keyId], now)).toHaveLength(1);
      expect(await storage.reads.getEntries(s.uid, [gone.keyId], null)).toHaveLength(1);
      const listed = await storage.reads.listEntries(s.uid, {
        fingerprints: [],
        afterKeyId: undefined,
        limit: 100,
        now,
      });
      expect(listed.map((e) => e.keyId)).toEqual([live.keyId]);
      await expectCountsMatchContents(storage, s.id);

      // For check-and-set an expired entry is at version 0.
      const conflict = await write(setValue(s, gone, { expected: v })).catch((e: unknown) => e);
      expect(conflict).toMatchObject({
        reason: "VERSION_CONFLICT",
        metadata: { current_version: "0" },
      });
      expect(await refusal(write(deleteValue(s, [gone], v)))).toBe("VERSION_CONFLICT");
      expect(await write(deleteValue(s, [alsoGone]))).toMatchObject({ deleted: false });
      await write(setValue(s, reborn, { expected: 0 }));
      await expectCountsMatchContents(storage, s.id);

      const swept = await write({ kind: "sweepExpired", now: Date.now(), limit: 1000 });
      const mine = swept.removed.filter((r) => r.storeUid.equals(s.uid)).map((r) => r.keyId);
      expect(mine).toEqual([gone.keyId]);
      const left = await allEntries(storage.reads, s.uid);
      expect(left.map((e) => e.keyId.toString("hex")).sort()).toEqual(
        [reborn.keyId, live.keyId].map((k) => k.toString("hex")).sort(),
      );
      await expectCountsMatchContents(storage, s.id);
      const again = await write({ kind: "sweepExpired", now: Date.now(), limit: 1000 });
      expect(again.removed.filter((r) => r.storeUid.equals(s.uid))).toEqual([]);
    });

    it("a secret is inserted if absent: registered once however often it is registered", async () => {
      const s = await createStore();
      const C = randomBytes(8);
      // The first write registers its secret.
      expect(await write(setValue(s, ref(C)))).toMatchObject({ secrets: [{ fingerprint: C }] });
      expect(await write(setValue(s, ref(C)))).toMatchObject({ secrets: undefined });
      const D = randomBytes(8);
      const all = await Promise.all(
        Array.from({ length: 5 }, () => write(registerSecret(s, D, C))),
      );
      expect(all.filter((r) => r.secrets !== undefined)).toHaveLength(1);
      expect(await write(registerSecret(s, D, C))).toEqual({ secrets: undefined });
      const secrets = await storage.reads.listSecrets(s.uid);
      expect(secrets.map((x) => x.fingerprint.toString("hex")).sort()).toEqual(
        [C, D].map((x) => x.toString("hex")).sort(),
      );
      // A retired secret is gone; registering it again inserts it again.
      await write({ kind: "retireSecret", storeId: s.id, storeUid: s.uid, fingerprint: D });
      expect(await storage.reads.listSecrets(s.uid)).toHaveLength(1);
      expect(await write(registerSecret(s, D, C))).toMatchObject({ secrets: expect.any(Array) });
      expect(await storage.reads.listSecrets(s.uid)).toHaveLength(2);
    });

    it("one live store per id: a second create is refused; once its key is destroyed the id is free", async () => {
      const first = await createStore();
      await write(setValue(first, ref(A)));
      await write(setValue(first, ref(A)));
      const second = newStoreRow(masterKey, first.id);
      expect(await refusal(write({ kind: "createStore", row: second }))).toBe(
        "STORE_ALREADY_EXISTS",
      );
      expect((await storage.reads.findStore(first.id))?.uid).toEqual(first.uid);

      const destroyed = await write({ kind: "destroyStoreKey", storeId: first.id });
      expect(destroyed).toEqual({ storeUid: first.uid, entryCount: 2 });
      expect(await storage.reads.findStore(first.id)).toBeUndefined();
      expect(await storage.reads.listDeletedStoreUids()).toContainEqual(first.uid);
      expect(await refusal(write({ kind: "destroyStoreKey", storeId: first.id }))).toBe(
        "STORE_NOT_FOUND",
      );
      // Nothing more is written to the destroyed store, not even through its old uid.
      expect(await refusal(write(setValue(first, ref(A))))).toBe("STORE_NOT_FOUND");
      expect(
        await write({
          kind: "rewrapStoreKey",
          storeUid: first.uid,
          fromMasterKeyId: first.masterKeyId,
          wrappedKey: first.wrappedKey,
          masterKeyId: first.masterKeyId,
        }),
      ).toBe(false);

      await write({ kind: "createStore", row: second });
      expect((await storage.reads.findStore(first.id))?.uid).toEqual(second.uid);
      expect(await versionOf(setValue(second, ref(A)))).toBe(1);
      expect((await storage.reads.listStores()).filter((r) => r.id === first.id)).toHaveLength(1);

      // The purge takes the old store's rows away, chunk by chunk; the new store keeps its own.
      expect(await write({ kind: "purgeEntries", storeUid: first.uid, limit: 1 })).toBe(1);
      expect(await write({ kind: "purgeEntries", storeUid: first.uid, limit: 10 })).toBe(1);
      expect(await write({ kind: "purgeEntries", storeUid: first.uid, limit: 10 })).toBe(0);
      await write({ kind: "deleteStoreRows", storeUid: first.uid });
      expect(await storage.reads.listDeletedStoreUids()).not.toContainEqual(first.uid);
      expect(await allEntries(storage.reads, second.uid)).toHaveLength(1);
    });

    it("the first admin token goes only into a database without tokens; a revocation keeps its first time", async () => {
      const { storage: empty } = await openFresh();
      const [first, second, third] = [newTokenRow(), newTokenRow(), newTokenRow()];
      expect(await empty.write({ kind: "insertToken", row: first, onlyIfNone: true })).toBe(true);
      expect(await empty.write({ kind: "insertToken", row: second, onlyIfNone: true })).toBe(false);
      expect(await empty.write({ kind: "insertToken", row: third, onlyIfNone: false })).toBe(true);
      expect(await empty.reads.countTokens()).toBe(2);

      const revoked = await empty.write({ kind: "revokeToken", tokenId: first.id });
      const at = revoked.revokedAt as number;
      expect(at).toBeGreaterThan(0);
      // Let the clock move on (a spin, not a wait for anything): a second revocation is later.
      while (Date.now() <= at) await new Promise((resolve) => setImmediate(resolve));
      const again = await empty.write({ kind: "revokeToken", tokenId: first.id });
      expect(again.revokedAt).toBe(at);
      expect(await refusal(empty.write({ kind: "revokeToken", tokenId: second.id }))).toBe(
        "TOKEN_NOT_FOUND",
      );
      expect((await empty.reads.listTokens(false)).map((t) => t.id)).toEqual([third.id]);
      const all = await empty.reads.listTokens(true);
      expect(all.find((t) => t.id === first.id)?.revokedAt).toBe(at);
    });

    it("counts (entries and bytes per store, entries per secret) match the contents after any mix of writes", async () => {
      const s = await createStore();
      const B = randomBytes(8);
      await write(setValue(s, ref(A)));
      await write(registerSecret(s, B, A));
      const random = seeded(0x5eed);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
      const entries = Array.from({ length: 12 }, () => {
        const keyId = randomBytes(32);
        return { a: ref(A, keyId), b: ref(B, randomBytes(32)) };
      });
      let last = 1;
      for (let step = 1; step <= 240; step++) {
        const e = pick(entries);
        const current = (await storage.reads.getEntries(s.uid, [e.a.keyId, e.b.keyId], Date.now()))
          .map((r) => r.version)
          .reduce((max, v) => Math.max(max, v), 0);
        const expected = pick([undefined, current, current + 1, 0]);
        const expiresAt = pick([null, null, null, Date.now() - 1, Date.now() + 60_000]);
        const options = {
          ...(expected === undefined ? {} : { expected }),
          ...(expiresAt === null ? {} : { expiresAt }),
          sealed: randomBytes(1 + Math.floor(random() * 300)),
        };
        const command = pick<WriteCommand>([
          setValue(s, e.a, options),
          setValue(s, e.b, options),
          setValue(s, e.b, { ...options, previous: [e.a] }),
          deleteValue(s, [e.b, e.a], expected),
          deleteValue(s, [e.a], expected),
          { kind: "sweepExpired", now: Date.now(), limit: 5 },
        ]);
        const result = await write(command).then(
          (value) => ({ ok: true as const, value }),
          (error: unknown) => ({ ok: false as const, error }),
        );
        if (!result.ok) {
          expect((result.error as { reason?: string }).reason).toBe("VERSION_CONFLICT");
        } else if (command.kind === "setValue") {
          // One writer: each write takes exactly the next version.
          last += 1;
          expect((result.value as { version: number }).version).toBe(last);
        }
        expect(await lastVersion(s)).toBe(last);
        if (step % 40 === 0) await expectCountsMatchContents(storage, s.id);
      }
    });
  });

  describe(`${WRITERS} writer processes at once`, () => {
    let storage: Storage;
    let target: WriterTarget;
    let writers: WriterProcess[];
    let stores = 0;
    const A = randomBytes(8);

    beforeAll(async () => {
      ({ storage, target } = await openFresh());
      writers = await startWriters(WRITERS);
      await Promise.all(writers.map((w) => w.open(target)));
    });

    afterAll(async () => {
      await Promise.all((writers ?? []).map((w) => w.exit()));
    });

    async function createStore(): Promise<StoreRow> {
      stores += 1;
      const row = newStoreRow(masterKey, `race-${stores}`);
      await storage.write({ kind: "createStore", row });
      return row;
    }

    /** Sends each writer its chains at once; all outcomes, flattened. */
    async function everyone(chainsFor: (writer: number) => WriteCommand[][]): Promise<Outcome[]> {
      const results = await Promise.all(writers.map((w, i) => w.chains(chainsFor(i))));
      return results.flat(2);
    }

    it("check-and-set on one entry from every process: exactly one winner per expected version", async () => {
      const s = await createStore();
      const key = ref(A);
      await storage.write(setValue(s, key));
      // Rounds where every process (several commands each) expects the same version.
      for (let round = 1; round <= 5; round++) {
        const expected = round;
        const outcomes = await everyone(() => [
          [setValue(s, key, { expected })],
          [setValue(s, key, { expected })],
        ]);
        const won = outcomes.filter((o) => o.ok);
        expect(won, `round ${round}`).toHaveLength(1);
        expect(won[0]?.value).toMatchObject({ version: round + 1 });
        const lost = outcomes.filter((o) => !o.ok);
        expect(lost.map((o) => (o.ok ? "" : o.reason))).toEqual(
          Array(outcomes.length - 1).fill("VERSION_CONFLICT"),
        );
      }
      // Read-then-write loops, as clients do them, racing freely.
      const tries = (
        await Promise.all(writers.map((w) => w.casLoop(setValue(s, key), 12, 2)))
      ).flat();
      const won = tries.filter((t): t is CasAttempt & { version: number } => "version" in t);
      const lost = tries.filter((t) => !("version" in t));
      expect(won.length).toBeGreaterThan(0);
      expect(lost.every((t) => "reason" in t && t.reason === "VERSION_CONFLICT")).toBe(true);
      const expectations = won.map((t) => t.expected);
      expect(new Set(expectations).size, "two writes won over the same version").toBe(won.length);
      expect(new Set(won.map((t) => t.version)).size).toBe(won.length);
      // The winners form one chain: each wrote over the version the one before it made.
      const chain = [...won].sort((x, y) => x.version - y.version);
      expect(chain[0]?.expected).toBe(6);
      for (let i = 1; i < chain.length; i++) {
        expect(chain[i]?.expected).toBe(chain[i - 1]?.version);
      }
      const [row] = await storage.reads.getEntries(s.uid, [key.keyId], null);
      expect(row?.version).toBe(chain.at(-1)?.version);
      expect((await storage.reads.findStore(s.id))?.lastVersion).toBe(chain.at(-1)?.version);
    });

    it("concurrent writes to many keys take distinct versions, increasing in each chain, with no gaps", async () => {
      const s = await createStore();
      const shared = Array.from({ length: 8 }, () => ref(A));
      await storage.write(setValue(s, ref(A)));
      const chains = await Promise.all(
        writers.map((w) =>
          w.chains(
            Array.from({ length: 4 }, (_, c) =>
              Array.from({ length: 10 }, (_, i) =>
                setValue(s, (i + c) % 2 === 0 ? (shared[(i * 3 + c) % 8] as ValidKeyRef) : ref(A)),
              ),
            ),
          ),
        ),
      );
      const versions: number[] = [];
      for (const chain of chains.flat()) {
        expect(chain.every((o) => o.ok)).toBe(true);
        const mine = chain.map((o) => (o.ok ? (o.value as { version: number }).version : 0));
        // A write acknowledged before the next one starts has the lower version.
        for (let i = 1; i < mine.length; i++) expect(mine[i]).toBeGreaterThan(mine[i - 1] ?? 0);
        versions.push(...mine);
      }
      const total = WRITERS * 4 * 10;
      expect(new Set(versions).size).toBe(total);
      expect(versions.sort((x, y) => x - y)).toEqual(
        Array.from({ length: total }, (_, i) => i + 2),
      );
      expect((await storage.reads.findStore(s.id))?.lastVersion).toBe(total + 1);
      await expectCountsMatchContents(storage, s.id);
    });

    it("RegisterSecret of one fingerprint from every process: registered once, no caller sees an error", async () => {
      const s = await createStore();
      await storage.write(setValue(s, ref(A)));
      const B = randomBytes(8);
      const outcomes = await everyone(() => [
        [registerSecret(s, B, A), registerSecret(s, B, A)],
        [registerSecret(s, B, A)],
        [registerSecret(s, B, A)],
      ]);
      expect(outcomes.filter((o) => !o.ok)).toEqual([]);
      const inserted = outcomes.filter(
        (o) => o.ok && (o.value as WriteResults["registerSecret"]).secrets !== undefined,
      );
      expect(inserted).toHaveLength(1);
      expect((await storage.reads.listSecrets(s.uid)).map((x) => x.fingerprint)).toHaveLength(2);

      // The first write to an empty store registers its secret: from every process at once.
      const fresh = await createStore();
      const C = randomBytes(8);
      const first = await everyone(() => [[setValue(fresh, ref(C))], [setValue(fresh, ref(C))]]);
      expect(first.filter((o) => !o.ok)).toEqual([]);
      expect(
        first.filter((o) => o.ok && (o.value as WriteResults["setValue"]).secrets !== undefined),
      ).toHaveLength(1);
      expect((await storage.reads.listSecrets(fresh.uid)).map((x) => x.fingerprint)).toEqual([C]);
      await expectCountsMatchContents(storage, fresh.id);
    });

    it("CreateStore of one id from every process: one succeeds, the others get STORE_ALREADY_EXISTS", async () => {
      for (let round = 1; round <= 4; round++) {
        const id = `race-create-${round}`;
        const rows = writers.map(() => [newStoreRow(masterKey, id), newStoreRow(masterKey, id)]);
        const outcomes = await everyone((i) =>
          (rows[i] ?? []).map((row) => [{ kind: "createStore", row }]),
        );
        expect(
          outcomes.filter((o) => o.ok),
          `round ${round}`,
        ).toHaveLength(1);
        expect(outcomes.filter((o) => !o.ok).map((o) => (o.ok ? "" : o.reason))).toEqual(
          Array(outcomes.length - 1).fill("STORE_ALREADY_EXISTS"),
        );
        const winner = rows.flat()[outcomes.findIndex((o) => o.ok)] as StoreRow;
        expect((await storage.reads.findStore(id))?.uid).toEqual(winner.uid);
        expect((await storage.reads.listStores()).filter((r) => r.id === id)).toHaveLength(1);
      }
    });

    it("the first admin token from every process at once: exactly one is stored", async () => {
      for (let round = 1; round <= 3; round++) {
        const { storage: empty, target: fresh } = await openFresh();
        await Promise.all(writers.map((w) => w.close()));
        await Promise.all(writers.map((w) => w.open(fresh)));
        const outcomes = await everyone(() => [
          [{ kind: "insertToken", row: newTokenRow("first"), onlyIfNone: true }],
          [{ kind: "insertToken", row: newTokenRow("first"), onlyIfNone: true }],
        ]);
        expect(outcomes.filter((o) => !o.ok)).toEqual([]);
        expect(
          outcomes.filter((o) => o.ok && o.value === true),
          `round ${round}`,
        ).toHaveLength(1);
        expect(await empty.reads.countTokens()).toBe(1);
      }
    });
  });
});

/** A small deterministic generator (mulberry32), so a failing mix can be replayed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
