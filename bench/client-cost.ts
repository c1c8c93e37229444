import { pbkdf2Sync, randomBytes } from "node:crypto";
import { computeKeyId } from "../src/crypto/key-id.js";
import { open } from "../src/crypto/open.js";
import { seal } from "../src/crypto/seal.js";
import { generateSecret } from "../src/crypto/secret.js";
import { deriveStoreKeys, deriveStoreKeysSync } from "../src/crypto/store-keys.js";
import type { ClientCost } from "./results.js";

/** How many repetitions each measurement takes (the full run and --quick). */
export interface ClientCostReps {
  /** seal, open and key id calls timed after as many warm-up calls. */
  readonly sealOps: number;
  /** scrypt derivations (median taken). */
  readonly scrypt: number;
  /** PBKDF2 pairs (median taken). */
  readonly pbkdf2: number;
}

/** A 64-character token, mid-range of what the bench stores. */
const TOKEN = `ya29.${"a1B2c3D4e5".repeat(6)}ab3Xz`.slice(0, 64);
const KEY_NAME = "user:123456:oauth";
/** The reference product's derivation, run twice per get or set. */
const PBKDF2 = { iterations: 100_000, keyLength: 32, digest: "sha256" } as const;

/**
 * Measures in this process, warm: seal, open and key id with cached store keys
 * (what each SDK call pays); the one-time key derivation with a hand-made
 * secret (scrypt) and with a generated `hxs_` secret (HKDF); and the reference
 * product's per-call PBKDF2-HMAC-SHA256 ×2 at 100,000 iterations.
 *
 * @throws never for valid reps.
 * @example
 * const cost = await measureClientCost({ sealOps: 20_000, scrypt: 5, pbkdf2: 5 });
 * cost.ratio; // e.g. 9_000: how many seal+open pairs one reference call costs
 */
export async function measureClientCost(reps: ClientCostReps): Promise<ClientCost> {
  const salt = randomBytes(32);
  const keys = await deriveStoreKeys(generateSecret(), "bench", salt);
  const keyId = computeKeyId(keys, KEY_NAME);
  const envelope = seal(keys, KEY_NAME, TOKEN);

  const sealUs = perCallUs(reps.sealOps, () => seal(keys, KEY_NAME, TOKEN));
  const openUs = perCallUs(reps.sealOps, () => open(keys, keyId, envelope));
  const keyIdUs = perCallUs(reps.sealOps, () => computeKeyId(keys, KEY_NAME));
  const sealOpenUs = perCallUs(reps.sealOps, () => open(keys, keyId, seal(keys, KEY_NAME, TOKEN)));

  const handMade = "correct horse battery staple, 2026";
  await deriveStoreKeys(handMade, "bench", salt); // warm the thread pool
  const scryptMs: number[] = [];
  for (let i = 0; i < reps.scrypt; i++) {
    const t = performance.now();
    (await deriveStoreKeys(handMade, "bench", salt)).destroy();
    scryptMs.push(performance.now() - t);
  }
  const generated = generateSecret();
  // The sync twin runs the same HKDF; timing the async one would time a promise hop too.
  const deriveGeneratedUs = median(
    Array.from({ length: 200 }, () => {
      const t = performance.now();
      deriveStoreKeysSync(generated, "bench", salt).destroy();
      return (performance.now() - t) * 1000;
    }),
  );

  const pbkdf2Ms: number[] = [];
  for (let i = 0; i < reps.pbkdf2; i++) {
    const t = performance.now();
    pbkdf2Sync(handMade, salt, PBKDF2.iterations, PBKDF2.keyLength, PBKDF2.digest);
    pbkdf2Sync(handMade, salt, PBKDF2.iterations, PBKDF2.keyLength, PBKDF2.digest);
    pbkdf2Ms.push(performance.now() - t);
  }
  keys.destroy();
  const pbkdf2TwiceMs = median(pbkdf2Ms);
  return {
    valueChars: TOKEN.length,
    sealUs,
    openUs,
    keyIdUs,
    sealOpenUs,
    deriveScryptMs: median(scryptMs),
    deriveGeneratedUs,
    pbkdf2TwiceMs,
    ratio: (pbkdf2TwiceMs * 1000) / sealOpenUs,
  };
}

/** Mean µs per call over `n` calls, after `n` warm-up calls. */
function perCallUs(n: number, fn: () => unknown): number {
  for (let i = 0; i < n; i++) fn();
  const t = performance.now();
  for (let i = 0; i < n; i++) fn();
  return ((performance.now() - t) * 1000) / n;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
