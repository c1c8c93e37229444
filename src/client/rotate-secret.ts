import type { KeyRef } from "../../gen/hexclave/v1/types.js";
import { computeKeyId } from "../crypto/key-id.js";
import { open } from "../crypto/open.js";
import { seal } from "../crypto/seal.js";
import type { StoreKeys } from "../crypto/store-keys.js";
import type { RotateSecretOptions, RotationResult } from "./client-options.js";
import { forEachBounded } from "./for-each-bounded.js";
import { HexclaveError, UnknownSecretError } from "./hexclave-error.js";
import type { StoreContext } from "./store-context.js";
import { toHexclaveError } from "./to-hexclave-error.js";
import type { Entry, Store } from "./vault-rpc.js";
import { safePageSize } from "./wire-limits.js";

const DEFAULT_CONCURRENCY = 16;
/** Tries per entry when other writers keep changing it under us. */
const MAX_ATTEMPTS = 8;
/** Listing passes before giving up on writers that keep writing under the old secret. */
const MAX_PASSES = 10;

type Outcome = "resealed" | "superseded";

interface Counters {
  total: number;
  done: number;
  resealed: number;
  superseded: number;
}

/**
 * Re-seals a store from one secret to another (DataVaultStore.rotateSecret).
 *
 * 1. RegisterSecret(to, known = from): idempotent, so a re-run starts here too.
 * 2. List the entries still under `from`; for each, open it, seal it under
 *    `to` (keeping its write time), and SetValue under the new key id with
 *    previous_keys = [old ref] and expected_version = the old entry's
 *    version. The server swaps the two
 *    in one transaction, so a crash at any point leaves each entry either
 *    entirely old or entirely new: a re-run just carries on.
 * 3. Repeat the listing until it comes back empty, then RetireSecret(from).
 *
 * If an entry also has a copy under `to` (someone wrote it with the new
 * secret without naming the old one), the copy written last wins — versions
 * are store-wide, so the higher version is the later write — and the other is
 * replaced or deleted. A version conflict means someone wrote meanwhile: both
 * copies are read again and the decision made again.
 *
 * @throws HexclaveError (UnknownSecretError, DecryptionError, …).
 * @example
 * const result = await rotateSecret(ctx, { from, to, onProgress });
 */
export async function rotateSecret(
  ctx: StoreContext,
  options: RotateSecretOptions,
): Promise<RotationResult> {
  const from = await ctx.keysFor(options.from);
  const to = await ctx.keysFor(options.to);
  if (from.fingerprint.equals(to.fingerprint)) {
    throw new HexclaveError(
      "INVALID_ARGUMENT",
      `"from" and "to" are the same secret: set "to" to the new secret (e.g. from "hexclave secret generate")`,
    );
  }
  const store = await ctx.rpc.registerSecret(ctx.storeId, to.fingerprint, from.fingerprint);
  const fromInfo = store.secrets.find((s) => s.fingerprint.equals(from.fingerprint));
  const counters: Counters = {
    total: fromInfo?.entryCount ?? 0,
    done: 0,
    resealed: 0,
    superseded: 0,
  };
  if (fromInfo === undefined) {
    // Not registered: either a finished rotation (retired), or a mistyped `from`.
    assertNothingLeftElsewhere(ctx.storeId, store, from, to);
    return { ...counters, retired: true };
  }
  const report = (): void => {
    counters.total = Math.max(counters.total, counters.done);
    options.onProgress?.({ done: counters.done, total: counters.total });
  };
  report();
  const mover = new EntryMover(ctx, from, to);
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  for (let pass = 1; ; pass++) {
    let seen = 0;
    const pages = ctx.rpc.listEntries({
      storeId: ctx.storeId,
      secretFingerprints: [from.fingerprint],
      startAfterKeyId: Buffer.alloc(0),
      pageSize: safePageSize(ctx.maxValueBytes),
    });
    for await (const page of pages) {
      seen += page.length;
      const underTo = await mover.versionsUnderTo(page);
      await forEachBounded(page, concurrency, async (entry) => {
        const outcome = await mover.move(entry, underTo.get(entry.keyId.toString("hex")));
        counters.done++;
        counters[outcome]++;
        report();
      });
    }
    if (seen > 0 && pass < MAX_PASSES) continue;
    if (seen > 0) throw stillInUse(ctx.storeId);
    if (options.retire === false) return { ...counters, retired: false };
    try {
      await ctx.rpc.retireSecret(ctx.storeId, from.fingerprint);
      return { ...counters, retired: true };
    } catch (error) {
      // An entry arrived under `from` after the empty listing: go round again.
      if (toHexclaveError(error).code !== "SECRET_IN_USE" || pass >= MAX_PASSES) throw error;
    }
  }
}

/** Moves single entries from `from` to `to`, deciding again after every conflict. */
class EntryMover {
  readonly #ctx: StoreContext;
  readonly #from: StoreKeys;
  readonly #to: StoreKeys;

  constructor(ctx: StoreContext, from: StoreKeys, to: StoreKeys) {
    this.#ctx = ctx;
    this.#from = from;
    this.#to = to;
  }

  /** For the page's entries that also have a copy under `to`: that copy's version, by key id (hex, under `from`). */
  async versionsUnderTo(page: readonly Entry[]): Promise<Map<string, number>> {
    const pairs = page.map((entry) => {
      const opened = this.#open(entry);
      opened.value.fill(0);
      return { entry, ref: this.#newRef(opened.keyName) };
    });
    const found = await this.#ctx.rpc.batchGetValues({
      storeId: this.#ctx.storeId,
      keys: pairs.map((p) => p.ref),
    });
    const versions = new Map(found.map((e) => [e.keyId.toString("hex"), e.version]));
    const out = new Map<string, number>();
    for (const p of pairs) {
      const version = versions.get(p.ref.keyId.toString("hex"));
      if (version !== undefined) out.set(p.entry.keyId.toString("hex"), version);
    }
    return out;
  }

  async move(listed: Entry, versionUnderTo: number | undefined): Promise<Outcome> {
    let current = listed;
    // The copy under `to` wins only if it was written after this one.
    let superseded = versionUnderTo !== undefined && versionUnderTo > listed.version;
    const oldRef: KeyRef = { keyId: listed.keyId, secretFingerprint: this.#from.fingerprint };
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const opened = this.#open(current);
      const newRef = this.#newRef(opened.keyName);
      try {
        if (superseded) {
          opened.value.fill(0);
          await this.#ctx.rpc.deleteValue({
            storeId: this.#ctx.storeId,
            key: oldRef,
            previousKeys: [],
            expectedVersion: current.version,
          });
          return "superseded";
        }
        const value = opened.kind === "text" ? opened.value.toString("utf8") : opened.value;
        // Re-sealing is not a write of a new value: keep its time, so rotation does not make
        // an old (possibly replayed) value look fresh.
        const sealed = seal(this.#to, opened.keyName, value, opened.writtenAt);
        opened.value.fill(0);
        // Keep the entry's expiry too: rotation must not make a short-lived value permanent.
        await this.#ctx.rpc.setValue({
          storeId: this.#ctx.storeId,
          key: newRef,
          sealedValue: sealed,
          expectedVersion: current.version,
          previousKeys: [oldRef],
          ...(current.expireTime === undefined ? {} : { expireTime: current.expireTime }),
        });
        return "resealed";
      } catch (error) {
        const typed = toHexclaveError(error);
        // It expired (by the server's clock) while being rotated: it is gone for every reader,
        // so drop the old copy instead of giving it a new life.
        if (typed.code === "INVALID_ARGUMENT" && typed.metadata.field === "expire_time") {
          superseded = true;
          continue;
        }
        if (typed.code !== "VERSION_CONFLICT") throw error;
      }
      // Someone wrote or deleted meanwhile: look at both copies again.
      const both = await this.#ctx.rpc.batchGetValues({
        storeId: this.#ctx.storeId,
        keys: [newRef, oldRef],
      });
      const old = both.find((e) => e.keyId.equals(oldRef.keyId));
      if (old === undefined) return "superseded"; // rewritten under `to` with the old one removed, or deleted
      const underTo = both.find((e) => e.keyId.equals(newRef.keyId));
      superseded = underTo !== undefined && underTo.version > old.version;
      current = old;
    }
    throw new HexclaveError(
      "VERSION_CONFLICT",
      `an entry of store "${this.#ctx.storeId}" kept changing during rotation: run the rotation again`,
    );
  }

  #open(entry: Entry): ReturnType<typeof open> {
    return open(this.#from, entry.keyId, entry.sealedValue);
  }

  #newRef(keyName: string): KeyRef {
    return { keyId: computeKeyId(this.#to, keyName), secretFingerprint: this.#to.fingerprint };
  }
}

function assertNothingLeftElsewhere(
  storeId: string,
  store: Store,
  from: StoreKeys,
  to: StoreKeys,
): void {
  const others = store.secrets.filter(
    (s) => !s.fingerprint.equals(to.fingerprint) && s.entryCount > 0,
  );
  if (others.length === 0) return;
  const presented = from.fingerprint.toString("hex");
  const registered = store.secrets.map((s) => s.fingerprint.toString("hex"));
  throw new UnknownSecretError(
    `store "${storeId}" does not know the old secret (fingerprint ${presented}); entries are still sealed under ` +
      `${others.map((s) => `${s.fingerprint.toString("hex")} (${s.entryCount})`).join(", ")}: ` +
      'check HEXCLAVE_PREVIOUS_SECRET / the "from" secret',
    {
      reason: "UNKNOWN_SECRET",
      metadata: { store_id: storeId, presented, registered: registered.join(",") },
    },
  );
}

function stillInUse(storeId: string): HexclaveError {
  return new HexclaveError(
    "SECRET_IN_USE",
    `entries keep being written under the old secret of store "${storeId}": switch every writer to ` +
      "{ secret: new, previousSecrets: [old] }, then run the rotation again",
  );
}
