import {
  AdminServiceService,
  CreateStoreRequest,
  CreateTokenRequest,
  CreateTokenResponse,
  RevokeTokenRequest,
} from "../../gen/hexclave/v1/admin_service.js";
import type { KeyRef, StoreGrant } from "../../gen/hexclave/v1/types.js";
import {
  RegisterSecretRequest,
  SetValueRequest,
  VaultServiceService,
} from "../../gen/hexclave/v1/vault_service.js";
import { unary } from "./grpc-unary.js";
import { connectRaw } from "./raw-grpc-call.js";
import type { AttackFixture } from "./rpc-targets.js";
import { SeededRandom } from "./seeded-random.js";

/** Entries written into the main store before the attack. */
const ENTRIES = 48;

/**
 * Gives a fresh server real data to attack: stores (one with entries, one
 * foreign, a pool to delete and recreate), scoped and revoked tokens, and a
 * pool of tokens to revoke. Key ids and fingerprints come from the seed.
 *
 * @throws CallFailed if the server refuses a set-up call.
 * @example
 * const fx = await setUpFixture(server.address, config.adminToken, "seed-1");
 */
export async function setUpFixture(
  address: string,
  adminToken: string,
  seed: string,
): Promise<AttackFixture> {
  const rng = SeededRandom.derive(seed, "fixture");
  const session = connectRaw(address);
  try {
    const admin = (path: string, message: Uint8Array) => unary(session, path, message, adminToken);
    const createStore = (storeId: string) =>
      admin(
        AdminServiceService.createStore.path,
        CreateStoreRequest.encode({ storeId, description: "attack fixture" }).finish(),
      );
    const createToken = async (name: string, grants: StoreGrant[] | "admin") => {
      const res = CreateTokenResponse.decode(
        await admin(
          AdminServiceService.createToken.path,
          CreateTokenRequest.encode({
            name,
            admin: grants === "admin",
            grants: grants === "admin" ? [] : grants,
          }).finish(),
        ),
      );
      return { id: res.token?.id ?? "", secret: res.secret };
    };

    const mainStore = "fuzz-main";
    const otherStore = "fuzz-other";
    const doomedStores = Array.from({ length: 6 }, (_, i) => `fuzz-doomed-${i}`);
    for (const id of [mainStore, otherStore, ...doomedStores]) await createStore(id);

    const fingerprint = rng.bytes(8);
    const keys: KeyRef[] = Array.from({ length: ENTRIES }, () => ({
      keyId: rng.bytes(32),
      secretFingerprint: fingerprint,
    }));
    for (const key of keys) {
      await admin(
        VaultServiceService.setValue.path,
        SetValueRequest.encode({
          storeId: mainStore,
          key,
          sealedValue: rng.bytes(rng.range(64, 600)),
          previousKeys: [],
        }).finish(),
      );
    }
    const spareFingerprints = Array.from({ length: 6 }, () => rng.bytes(8));
    await admin(
      VaultServiceService.registerSecret.path,
      RegisterSecretRequest.encode({
        storeId: mainStore,
        secretFingerprint: spareFingerprints[0] as Buffer,
        knownSecretFingerprint: fingerprint,
      }).finish(),
    );

    const readWrite = await createToken("fuzz-rw", [
      { storeId: mainStore, read: true, write: true },
    ]);
    const readOnly = await createToken("fuzz-ro", [
      { storeId: mainStore, read: true, write: false },
    ]);
    const revoked = await createToken("fuzz-revoked", "admin");
    await admin(
      AdminServiceService.revokeToken.path,
      RevokeTokenRequest.encode({ tokenId: revoked.id }).finish(),
    );
    const doomed = [];
    for (let i = 0; i < 4; i++) doomed.push(await createToken(`fuzz-doomed-${i}`, "admin"));

    return {
      mainStore,
      otherStore,
      doomedStores,
      fingerprint,
      spareFingerprints,
      keys,
      tokens: {
        admin: adminToken,
        readWrite: readWrite.secret,
        readOnly: readOnly.secret,
        revoked: revoked.secret,
      },
      doomedTokenIds: doomed.map((t) => t.id),
      known: {
        values: [
          { what: "admin token", text: adminToken },
          ...[readWrite, readOnly, revoked, ...doomed].flatMap((t, i) => [
            { what: `token ${i}`, text: t.secret },
            // The part after the id: 256 random bits, the bit that must never show.
            { what: `token ${i} secret part`, text: t.secret.slice(-43) },
          ]),
        ],
      },
    };
  } finally {
    session.destroy();
  }
}
