import { randomBytes } from "node:crypto";
import { expect } from "vitest";
import type { DataVaultStore } from "../../../src/client/index.js";
import { generateSecret } from "../../../src/client/index.js";
import { computeKeyId } from "../../../src/crypto/key-id.js";
import { deriveStoreKeysSync } from "../../../src/crypto/store-keys.js";
import { bearer, call } from "../../support/grpc-clients.js";
import type { ClientFixture } from "./client-fixture.js";
import { type Needle, needlesFor } from "./plaintext-needles.js";

/** Values, key names and secrets a test writes, then searches for where they must not be. */
export interface KnownPlaintext {
  /** A hand-made passphrase: goes through scrypt. */
  readonly passphrase: string;
  /** A generated secret, rotated to at the end. */
  readonly generated: string;
  readonly entries: ReadonlyMap<string, string | Uint8Array>;
  /** Every readable form of every value, key name and secret. */
  readonly needles: readonly Needle[];
}

/**
 * Fresh plaintexts, random enough never to occur anywhere by chance.
 *
 * @example
 * const known = knownPlaintext();
 */
export function knownPlaintext(): KnownPlaintext {
  const tag = randomBytes(6).toString("hex");
  const entries = new Map<string, string | Uint8Array>([
    [`github-refresh:user-${tag}-1`, `gho_refresh_${randomBytes(18).toString("base64url")}`],
    [`stripe-key:acct-${tag}-2`, `sk_live_${randomBytes(24).toString("hex")}`],
    [`recovery-codes:user-${tag}-3`, `ABCD-${tag}-EFGH-${tag}-IJKL-${tag}`],
    [`binary-seed:user-${tag}-4`, randomBytes(40)],
  ]);
  const passphrase = `correct horse battery staple ${tag}`;
  const generated = generateSecret();
  const needles = [
    ...needlesFor("passphrase", passphrase),
    ...needlesFor("generated secret", generated),
    ...needlesFor("generated secret bytes", Buffer.from(generated.slice(4), "base64url")),
  ];
  for (const [key, value] of entries) {
    needles.push(...needlesFor(`key ${key}`, key), ...needlesFor(`value of ${key}`, value));
  }
  return { passphrase, generated, entries, needles };
}

/**
 * Drives every data-plane call with the known plaintexts: writes, reads
 * (single, batch, listing, with a previous secret), a rotation to the
 * generated secret, and one delete and re-write.
 *
 * @example
 * await exerciseStore(store, known);
 */
export async function exerciseStore(store: DataVaultStore, known: KnownPlaintext): Promise<void> {
  const secret = known.passphrase;
  for (const [key, value] of known.entries) await store.setValue(key, value, { secret });
  for (const [key, value] of known.entries) {
    const back = await store.getValue(key, { secret, as: "bytes" });
    expect(Buffer.from(back as Uint8Array)).toEqual(Buffer.from(value));
  }
  const keys = [...known.entries.keys()];
  expect((await store.getValues(keys, { secret, as: "bytes" })).size).toBe(keys.length);
  let listed = 0;
  for await (const _ of store.entries({ secret, as: "bytes" })) listed++;
  expect(listed).toBe(keys.length);

  const [first] = keys as [string];
  expect(await store.deleteValue(first, { secret })).toBe(true);
  await store.setValue(first, known.entries.get(first) as string, { secret, ifVersion: 0 });

  const rotating = { secret: known.generated, previousSecrets: [secret] };
  expect(await store.getValue(first, { ...rotating, as: "bytes" })).not.toBeNull();
  const second = keys[1] as string;
  await store.setValue(second, known.entries.get(second) as string, rotating);

  const rotated = await store.rotateSecret({ from: secret, to: known.generated });
  expect(rotated).toMatchObject({ resealed: keys.length - 1, retired: true });
  const after = await store.getValues(keys, { secret: known.generated, as: "bytes" });
  expect(after.size).toBe(keys.length);
  for await (const _ of store.entries({ secret: known.generated, as: "bytes" })) listed++;
}

/**
 * The key id the first known entry has in `storeId` under `secret`: a byte
 * string the server does hold, so a scan can prove it sees the stored data.
 *
 * @example
 * const keyId = await knownKeyId(f, known, "disk", known.generated);
 */
export async function knownKeyId(
  f: ClientFixture,
  known: KnownPlaintext,
  storeId: string,
  secret: string,
): Promise<Buffer> {
  const { store } = await call(
    f.raw.vault,
    f.raw.vault.describeStore,
    { storeId },
    bearer(f.server.adminToken),
  );
  const keys = deriveStoreKeysSync(secret, storeId, store?.salt as Buffer);
  return computeKeyId(keys, [...known.entries.keys()][0] as string);
}
