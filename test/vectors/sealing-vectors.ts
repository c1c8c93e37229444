import {
  AT_REST_VERSION,
  masterKeyId,
  sealAtRestWithSalt,
  wrapDataKeyWithIv,
} from "../../src/crypto/at-rest.js";
import type { CryptoError } from "../../src/crypto/crypto-error.js";
import { HEADER_LENGTH, KIND_BYTES, KIND_TEXT, ZERO_NONCE } from "../../src/crypto/format-v1.js";
import { encodeFrame } from "../../src/crypto/frame.js";
import { computeKeyId } from "../../src/crypto/key-id.js";
import { additionalData, deriveMessageKeys } from "../../src/crypto/message-keys.js";
import { deriveRootKeySync } from "../../src/crypto/root-key.js";
import { sealWithSalt } from "../../src/crypto/seal.js";
import { isGeneratedSecret } from "../../src/crypto/secret.js";
import { assertSecret } from "../../src/crypto/secret-strength.js";
import {
  type StoreKeys,
  storeKeyMaterial,
  storeKeysFromRoot,
} from "../../src/crypto/store-keys.js";
import {
  computeMustNotOpen,
  type MustNotOpenVector,
  mutationContext,
} from "./must-not-open-vectors.js";

/**
 * Builds test/vectors/sealing-v1.json from its inputs with the deterministic (salt-taking)
 * functions. The vectors test recomputes every output from the file's own inputs and
 * compares; `HEXCLAVE_WRITE_VECTORS=1 npx vitest run test/crypto/sealing-vectors` rewrites
 * the file (only ever do that for a new format version, never to make a test pass).
 */

export interface MessageVector {
  comment: string;
  keyName: string;
  kind: "text" | "bytes";
  /** Present for kind "text": the string passed to seal. */
  valueText?: string;
  valueHex: string;
  /** The frame's write time, Unix milliseconds. */
  writtenAtMs: number;
  messageSaltHex: string;
  keyIdHex: string;
  encKeyHex: string;
  /** Always 12 zero bytes (docs/sealing.md §7.3), listed so nobody has to guess. */
  nonceHex: string;
  commitmentHex: string;
  aadHex: string;
  frameHex: string;
  envelopeHex: string;
}

export interface StoreVector {
  comment: string;
  secret: string;
  generated: boolean;
  storeId: string;
  storeSaltHex: string;
  rootHex: string;
  kIdHex: string;
  kSealHex: string;
  fingerprintHex: string;
  messages: MessageVector[];
}

export interface WrapVector {
  storeId: string;
  dataKeyHex: string;
  ivHex: string;
  wrappedHex: string;
}

export interface BlobVector {
  comment: string;
  storeId: string;
  keyIdHex: string;
  blobHex: string;
  saltHex: string;
  storedHex: string;
}

/** "ok", or the CryptoError code a secret is refused with (docs/sealing.md §3). */
export type SecretOutcome = "ok" | "WEAK_SECRET" | "INVALID_INPUT";

export interface SealingVectors {
  description: string;
  stores: StoreVector[];
  generatedSecretDetection: { secret: string; generated: boolean }[];
  /** What assertSecret says of each secret: accepted, or the error code it refuses it with. */
  secretRules: { secret: string; outcome: SecretOutcome }[];
  /** Envelopes every implementation must refuse, with the one fixed error. */
  mustNotOpen: MustNotOpenVector[];
  atRest: {
    version: number;
    masterKeyHex: string;
    masterKeyIdHex: string;
    dataKeyHex: string;
    wrap: WrapVector[];
    blobs: BlobVector[];
  };
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const unhex = (text: string): Buffer => Buffer.from(text, "hex");

/** Bytes start, start+1, … (mod 256): recognisable in a hex dump. */
export function sequence(start: number, length: number, step = 1): Buffer {
  return Buffer.from(Array.from({ length }, (_, i) => (start + i * step) & 0xff));
}

function secretOutcome(secret: string): SecretOutcome {
  try {
    assertSecret(secret);
    return "ok";
  } catch (err) {
    const code = (err as CryptoError).code;
    if (code === "DECRYPTION_FAILED") throw err;
    return code;
  }
}

function computeMessage(
  keys: StoreKeys,
  store: StoreVector,
  message: MessageVector,
): MessageVector {
  const { kSeal } = storeKeyMaterial(keys);
  const value = message.kind === "text" ? (message.valueText ?? "") : unhex(message.valueHex);
  const salt = unhex(message.messageSaltHex);
  const keyId = computeKeyId(keys, message.keyName);
  const envelope = sealWithSalt(keys, message.keyName, value, salt, message.writtenAtMs);
  const mk = deriveMessageKeys(kSeal, salt, keyId);
  const nameBytes = Buffer.from(message.keyName, "utf8");
  const valueBytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  const frame = encodeFrame(
    message.kind === "text" ? KIND_TEXT : KIND_BYTES,
    message.writtenAtMs,
    nameBytes,
    valueBytes,
  );
  return {
    comment: message.comment,
    keyName: message.keyName,
    kind: message.kind,
    ...(typeof value === "string" ? { valueText: value } : {}),
    valueHex: hex(valueBytes),
    writtenAtMs: message.writtenAtMs,
    messageSaltHex: hex(salt),
    keyIdHex: hex(keyId),
    encKeyHex: hex(mk.encKey),
    nonceHex: hex(ZERO_NONCE),
    commitmentHex: hex(mk.commitment),
    aadHex: hex(additionalData(envelope.subarray(0, HEADER_LENGTH), store.storeId, keyId)),
    frameHex: hex(frame),
    envelopeHex: hex(envelope),
  };
}

/**
 * Recomputes every output field of `vectors` from its input fields.
 *
 * @throws {CryptoError} if an input is invalid.
 * @example
 * ```ts
 * expect(computeVectors(fromFile)).toEqual(fromFile);
 * ```
 */
export function computeVectors(vectors: SealingVectors): SealingVectors {
  const keysByStore: StoreKeys[] = [];
  const stores = vectors.stores.map((store): StoreVector => {
    const salt = unhex(store.storeSaltHex);
    // One scrypt per store: keep a copy of the root for the vector, expand the original.
    const root = deriveRootKeySync(store.secret, store.storeId, salt);
    const rootHex = hex(root);
    const keys = storeKeysFromRoot(store.storeId, root);
    const { kId, kSeal, fingerprint } = storeKeyMaterial(keys);
    const computed: StoreVector = {
      comment: store.comment,
      secret: store.secret,
      generated: isGeneratedSecret(store.secret),
      storeId: store.storeId,
      storeSaltHex: hex(salt),
      rootHex,
      kIdHex: hex(kId),
      kSealHex: hex(kSeal),
      fingerprintHex: hex(fingerprint),
      messages: [],
    };
    computed.messages = store.messages.map((message) => computeMessage(keys, store, message));
    keysByStore.push(keys);
    return computed;
  });
  const mustNotOpen = computeMustNotOpen(vectors.mustNotOpen, (i) =>
    mutationContext(keysByStore[i] as StoreKeys, stores),
  );
  for (const keys of keysByStore) keys.destroy();
  const { atRest } = vectors;
  const masterKey = unhex(atRest.masterKeyHex);
  const dataKey = unhex(atRest.dataKeyHex);
  return {
    description: vectors.description,
    stores,
    generatedSecretDetection: vectors.generatedSecretDetection.map(({ secret }) => ({
      secret,
      generated: isGeneratedSecret(secret),
    })),
    secretRules: vectors.secretRules.map(({ secret }) => ({
      secret,
      outcome: secretOutcome(secret),
    })),
    mustNotOpen,
    atRest: {
      version: AT_REST_VERSION,
      masterKeyHex: atRest.masterKeyHex,
      masterKeyIdHex: hex(masterKeyId(masterKey)),
      dataKeyHex: atRest.dataKeyHex,
      wrap: atRest.wrap.map((w) => ({
        ...w,
        wrappedHex: hex(
          wrapDataKeyWithIv(masterKey, w.storeId, unhex(w.dataKeyHex), unhex(w.ivHex)),
        ),
      })),
      blobs: atRest.blobs.map((b) => ({
        ...b,
        storedHex: hex(
          sealAtRestWithSalt(
            dataKey,
            b.storeId,
            unhex(b.keyIdHex),
            unhex(b.blobHex),
            unhex(b.saltHex),
          ),
        ),
      })),
    },
  };
}

const OUTPUT_FIELDS = new Set([
  "rootHex",
  "kIdHex",
  "kSealHex",
  "fingerprintHex",
  "keyIdHex",
  "encKeyHex",
  "nonceHex",
  "commitmentHex",
  "aadHex",
  "frameHex",
  "envelopeHex",
  "masterKeyIdHex",
  "wrappedHex",
  "storedHex",
]);

/**
 * `vectors` with every computed field blanked: what is left are the inputs.
 *
 * @throws never.
 * @example
 * ```ts
 * expect(withoutOutputs(fromFile)).toEqual(withoutOutputs(vectorInputs()));
 * ```
 */
export function withoutOutputs(vectors: SealingVectors): unknown {
  return JSON.parse(JSON.stringify(vectors, (key, value) => (OUTPUT_FIELDS.has(key) ? "" : value)));
}

/** Characters a reader could not see in the file: written as JSON escapes instead. */
const INVISIBLE = /[\u0080-\u00a0\u1680\u2000-\u200f\u2028\u2029\u202f\u205f\u3000\ufeff]/g;

/**
 * The vectors as the file holds them: two-space JSON, with invisible characters (a BOM, NEL,
 * odd spaces in the secret examples) escaped so a reader sees them.
 *
 * @throws never.
 * @example
 * ```ts
 * writeFileSync(path, serializeVectors(computeVectors(vectorInputs())));
 * ```
 */
export function serializeVectors(vectors: SealingVectors): string {
  const json = JSON.stringify(vectors, null, 2).replace(
    INVISIBLE,
    (c) => `\\u${(c.codePointAt(0) as number).toString(16).padStart(4, "0")}`,
  );
  return `${json}\n`;
}
