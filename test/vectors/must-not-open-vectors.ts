import { createHash } from "node:crypto";
import {
  COMMITMENT_OFFSET,
  FRAME_NAME_LENGTH_OFFSET,
  FRAME_NAME_OFFSET,
  FRAME_WRITTEN_AT_OFFSET,
  HEADER_LENGTH,
  KIND_TEXT,
  MAX_WRITTEN_AT_MS,
  SALT_OFFSET,
  TAG_LENGTH,
  ZERO_NONCE,
} from "../../src/crypto/format-v1.js";
import { encodeFrame } from "../../src/crypto/frame.js";
import { additionalData, deriveMessageKeys } from "../../src/crypto/message-keys.js";
import { gcmEncryptInto } from "../../src/crypto/primitives.js";
import { type StoreKeys, storeKeyMaterial } from "../../src/crypto/store-keys.js";

/**
 * Envelopes that must fail to open, each with the one fixed error, so two implementations
 * cannot disagree silently about strict parsing (docs/sealing.md §8, §11). Each is a named
 * mutation of a published envelope, or an envelope encrypted correctly around a frame that
 * seal never writes. `failsAtStep` is the step of §8 that refuses it: the error never says,
 * but the spec cross-check follows §8 and checks it.
 */

/** One envelope that must not open. */
export interface MustNotOpenVector {
  comment: string;
  /** Which mutation of the base envelope (or crafted frame) this is; the generator's key. */
  mutation: string;
  /** Open with the keys of `stores[storeIndex]`. */
  storeIndex: number;
  /** The step of docs/sealing.md §8 that refuses it. */
  failsAtStep: number;
  /** The key id to open under. */
  keyIdHex: string;
  envelopeHex: string;
}

/** The stores' keys and computed messages a mutation starts from. */
export interface MutationContext {
  /** The keys of `stores[storeIndex]`. */
  readonly keys: StoreKeys;
  /** stores[i].messages[j]'s key id and envelope. */
  message(store: number, index: number): { keyId: Buffer; envelope: Buffer };
}

type Mutation = (ctx: MutationContext) => { keyId: Buffer; envelope: Buffer };

const unhex = (text: string): Buffer => Buffer.from(text, "hex");
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

/** The base of the mutations: stores[1].messages[2], a text token in the 256-byte bucket. */
const BASE = [1, 2] as const;
/** A multi-page base: stores[1].messages[1], 5,000 bytes in an 8,192-byte frame. */
const LARGE = [1, 1] as const;
/** The base's key name, and the time crafted frames carry. */
const NAME = Buffer.from("google:12345");
const WRITTEN_AT = 1_767_225_600_000;

function flipBit(envelope: Buffer, byte: number): Buffer {
  const copy = Buffer.from(envelope);
  copy[byte]! ^= 0x01;
  return copy;
}

function withByte(envelope: Buffer, byte: number, value: number): Buffer {
  const copy = Buffer.from(envelope);
  copy[byte] = value;
  return copy;
}

/**
 * Encrypts `frame` exactly as seal would, under `keys` and `keyId`, with a salt of its own
 * (SHA-256 of the mutation name: no two vectors share a one-time key). `aad` overrides what
 * the AAD binds, to model a store or key id other than the one the keys were derived for.
 */
function sealFrame(
  mutation: string,
  keys: StoreKeys,
  keyId: Buffer,
  frame: Buffer,
  aad: { storeId?: string; keyId?: Buffer } = {},
): Buffer {
  const { kSeal, fingerprint } = storeKeyMaterial(keys);
  const salt = createHash("sha256").update(`hexclave/v1/vectors/${mutation}`).digest();
  const mk = deriveMessageKeys(kSeal, salt, keyId);
  const envelope = Buffer.alloc(HEADER_LENGTH + frame.length + TAG_LENGTH);
  envelope[0] = 0x01;
  fingerprint.copy(envelope, 1);
  salt.copy(envelope, SALT_OFFSET);
  mk.commitment.copy(envelope, COMMITMENT_OFFSET);
  const header = envelope.subarray(0, HEADER_LENGTH);
  const boundTo = additionalData(header, aad.storeId ?? keys.storeId, aad.keyId ?? keyId);
  gcmEncryptInto(mk.encKey, ZERO_NONCE, boundTo, frame, envelope, HEADER_LENGTH);
  return envelope;
}

/** The base's frame, as seal writes it, for the crafted cases to corrupt. */
function baseFrame(value = "token"): Buffer {
  return encodeFrame(KIND_TEXT, WRITTEN_AT, NAME, Buffer.from(value));
}

/** A crafted envelope: the base's key id, a frame corrupted by `corrupt`. */
function crafted(mutation: string, corrupt: (frame: Buffer) => Buffer | undefined): Mutation {
  return (ctx) => {
    const { keyId } = ctx.message(...BASE);
    const frame = baseFrame();
    return { keyId, envelope: sealFrame(mutation, ctx.keys, keyId, corrupt(frame) ?? frame) };
  };
}

const VALUE_LENGTH_AT = FRAME_NAME_OFFSET + NAME.length;

/** Every mutation the inputs may name. */
const MUTATIONS: Record<string, Mutation> = {
  "key-id-31-bytes": (ctx) => {
    const { keyId, envelope } = ctx.message(...BASE);
    return { keyId: keyId.subarray(0, 31), envelope };
  },
  empty: (ctx) => ({ keyId: ctx.message(...BASE).keyId, envelope: Buffer.alloc(0) }),
  "header-only": (ctx) => {
    const { keyId, envelope } = ctx.message(...BASE);
    return { keyId, envelope: envelope.subarray(0, HEADER_LENGTH) };
  },
  "truncated-below-minimum": (ctx) => {
    const { keyId, envelope } = ctx.message(...BASE);
    return { keyId, envelope: envelope.subarray(0, envelope.length - 1) };
  },
  "truncated-by-one-multi-page": (ctx) => {
    const { keyId, envelope } = ctx.message(...LARGE);
    return { keyId, envelope: envelope.subarray(0, envelope.length - 1) };
  },
  "extended-by-a-bucket": (ctx) => {
    const { keyId, envelope } = ctx.message(...BASE);
    return { keyId, envelope: Buffer.concat([envelope, Buffer.alloc(256)]) };
  },
  "version-0x00": (ctx) => {
    const { keyId, envelope } = ctx.message(...BASE);
    return { keyId, envelope: withByte(envelope, 0, 0x00) };
  },
  "version-0x02": (ctx) => {
    const { keyId, envelope } = ctx.message(...BASE);
    return { keyId, envelope: withByte(envelope, 0, 0x02) };
  },
  "flip-fingerprint-bit": (ctx) => {
    const { keyId, envelope } = ctx.message(...BASE);
    return { keyId, envelope: flipBit(envelope, 1) };
  },
  "flip-salt-bit": (ctx) => {
    const { keyId, envelope } = ctx.message(...BASE);
    return { keyId, envelope: flipBit(envelope, SALT_OFFSET) };
  },
  "flip-commitment-bit": (ctx) => {
    const { keyId, envelope } = ctx.message(...BASE);
    return { keyId, envelope: flipBit(envelope, COMMITMENT_OFFSET) };
  },
  "flip-ciphertext-bit": (ctx) => {
    const { keyId, envelope } = ctx.message(...BASE);
    return { keyId, envelope: flipBit(envelope, HEADER_LENGTH) };
  },
  "flip-tag-bit": (ctx) => {
    const { keyId, envelope } = ctx.message(...BASE);
    return { keyId, envelope: flipBit(envelope, envelope.length - 1) };
  },
  "other-key-id": (ctx) => ({
    keyId: ctx.message(1, 0).keyId,
    envelope: ctx.message(...BASE).envelope,
  }),
  "other-secret": (ctx) => ({
    keyId: ctx.message(0, 0).keyId,
    envelope: ctx.message(2, 0).envelope,
  }),
  "other-secret-fingerprint-rewritten": (ctx) => {
    const envelope = Buffer.from(ctx.message(2, 0).envelope);
    ctx.keys.fingerprint.copy(envelope, 1);
    return { keyId: ctx.message(0, 0).keyId, envelope };
  },
  "aad-other-store-id": (ctx) => {
    const { keyId } = ctx.message(...BASE);
    const frame = baseFrame();
    return {
      keyId,
      envelope: sealFrame("aad-other-store-id", ctx.keys, keyId, frame, { storeId: "billing_v3" }),
    };
  },
  "aad-other-key-id": (ctx) => {
    const { keyId } = ctx.message(...BASE);
    const other = ctx.message(1, 0).keyId;
    const frame = baseFrame();
    return {
      keyId,
      envelope: sealFrame("aad-other-key-id", ctx.keys, keyId, frame, { keyId: other }),
    };
  },
  "frame-length-not-a-bucket": crafted("frame-length-not-a-bucket", (f) =>
    Buffer.concat([f, Buffer.alloc(16)]),
  ),
  "frame-padded-to-a-bigger-bucket": crafted("frame-padded-to-a-bigger-bucket", (f) =>
    Buffer.concat([f, Buffer.alloc(256)]),
  ),
  "frame-nonzero-padding": crafted("frame-nonzero-padding", (f) => {
    f[f.length - 1] = 0x01;
    return f;
  }),
  "frame-kind-0x00": crafted("frame-kind-0x00", (f) => {
    f[0] = 0x00;
    return f;
  }),
  "frame-kind-0x03": crafted("frame-kind-0x03", (f) => {
    f[0] = 0x03;
    return f;
  }),
  "frame-written-at-too-late": crafted("frame-written-at-too-late", (f) => {
    f.writeBigUInt64BE(BigInt(MAX_WRITTEN_AT_MS) + 1n, FRAME_WRITTEN_AT_OFFSET);
    return f;
  }),
  "frame-name-length-0": crafted("frame-name-length-0", (f) => {
    f.writeUInt16BE(0, FRAME_NAME_LENGTH_OFFSET);
    return f;
  }),
  "frame-name-length-past-frame": crafted("frame-name-length-past-frame", (f) => {
    f.writeUInt16BE(1000, FRAME_NAME_LENGTH_OFFSET);
    return f;
  }),
  "frame-name-1025-bytes": (ctx) => {
    const { keyId } = ctx.message(...BASE);
    const frame = encodeFrame(KIND_TEXT, WRITTEN_AT, Buffer.alloc(1025, 0x61), Buffer.from("v"));
    return { keyId, envelope: sealFrame("frame-name-1025-bytes", ctx.keys, keyId, frame) };
  },
  "frame-value-length-past-frame": crafted("frame-value-length-past-frame", (f) => {
    f.writeUInt32BE(300, VALUE_LENGTH_AT);
    return f;
  }),
  "frame-value-length-over-1-mib": crafted("frame-value-length-over-1-mib", (f) => {
    f.writeUInt32BE(0xffffffff, VALUE_LENGTH_AT);
    return f;
  }),
  "frame-text-value-not-utf8": crafted("frame-text-value-not-utf8", (f) => {
    f[VALUE_LENGTH_AT + 4] = 0xff;
    return f;
  }),
  "frame-text-value-overlong-utf8": (ctx) => {
    const { keyId } = ctx.message(...BASE);
    const frame = encodeFrame(KIND_TEXT, WRITTEN_AT, NAME, Buffer.from("c0af", "hex"));
    return { keyId, envelope: sealFrame("frame-text-value-overlong-utf8", ctx.keys, keyId, frame) };
  },
  "frame-name-not-utf8": (ctx) => {
    const { keyId } = ctx.message(...BASE);
    const frame = encodeFrame(
      KIND_TEXT,
      WRITTEN_AT,
      Buffer.from("67c328", "hex"),
      Buffer.from("v"),
    );
    return { keyId, envelope: sealFrame("frame-name-not-utf8", ctx.keys, keyId, frame) };
  },
  "frame-name-not-the-key-ids": (ctx) => {
    const { keyId } = ctx.message(...BASE);
    const frame = encodeFrame(KIND_TEXT, WRITTEN_AT, Buffer.from("google:99999"), Buffer.from("v"));
    return { keyId, envelope: sealFrame("frame-name-not-the-key-ids", ctx.keys, keyId, frame) };
  },
};

/**
 * Recomputes the key id and envelope of each must-not-open vector from its mutation.
 *
 * @throws {Error} for a mutation the generator does not know.
 * @example
 * ```ts
 * const computed = computeMustNotOpen(inputs.mustNotOpen, (i) => contextFor(i));
 * ```
 */
export function computeMustNotOpen(
  vectors: readonly MustNotOpenVector[],
  contextFor: (storeIndex: number) => MutationContext,
): MustNotOpenVector[] {
  return vectors.map((v) => {
    const mutate = MUTATIONS[v.mutation];
    if (mutate === undefined) throw new Error(`no mutation named ${JSON.stringify(v.mutation)}`);
    const { keyId, envelope } = mutate(contextFor(v.storeIndex));
    return { ...v, keyIdHex: hex(keyId), envelopeHex: hex(envelope) };
  });
}

/**
 * A {@link MutationContext} over computed store vectors.
 *
 * @throws never.
 * @example
 * ```ts
 * const ctx = mutationContext(keys, stores);
 * ```
 */
export function mutationContext(
  keys: StoreKeys,
  stores: readonly { messages: readonly { keyIdHex: string; envelopeHex: string }[] }[],
): MutationContext {
  return {
    keys,
    message(store, index) {
      const m = stores[store]?.messages[index];
      if (m === undefined) throw new Error(`no message ${index} in store ${store}`);
      return { keyId: unhex(m.keyIdHex), envelope: unhex(m.envelopeHex) };
    },
  };
}
