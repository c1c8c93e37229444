/**
 * Every constant of the v1 sealed format, in one place so docs/sealing.md can be checked
 * against it line by line. Changing any of these breaks every stored envelope: bump
 * `ENVELOPE_VERSION` instead.
 */

/** First byte of every envelope; open refuses any other. */
export const ENVELOPE_VERSION = 0x01;

/** Domain-separation labels (ASCII). Each use of a key gets its own, so outputs never collide. */
export const LABEL = {
  /** Prefix of the root key's scrypt / HKDF salt. */
  root: "hexclave/v1",
  /** HKDF info for a generated (`hxs_`) secret's root key. */
  generatedRoot: "hexclave/v1/generated-root",
  /** HKDF info of k_id, the key-id HMAC key. */
  keyId: "hexclave/v1/key-id",
  /** HKDF info of k_seal, the per-message key source. */
  seal: "hexclave/v1/seal",
  /** HKDF info of the public secret fingerprint. */
  fingerprint: "hexclave/v1/fingerprint",
  /** HKDF-Expand info prefix of a message's one-time keys; the salt and key id follow. */
  message: "hexclave/v1/message",
} as const;

/**
 * scrypt cost for passphrases: 128 MiB and ≈0.5-1 s per derivation, once per (secret, store)
 * per process. The fingerprint and every envelope let a holder test guesses offline; this is
 * what each guess costs them (4× the cost of N = 2^15).
 */
export const SCRYPT = { N: 2 ** 17, r: 8, p: 1, keyLength: 32 } as const;
/** scrypt's working memory: 128 · N · r bytes = 134,217,728 (128 MiB). */
export const SCRYPT_MEMORY_BYTES = 128 * SCRYPT.N * SCRYPT.r;
/**
 * The `maxmem` node:crypto gets. OpenSSL counts 128·r·(N+2) + 128·r·p = 134,220,800 bytes
 * against it, just past 128 MiB, so its 32 MiB default refuses; 16 MiB of headroom.
 */
export const SCRYPT_MAXMEM = SCRYPT_MEMORY_BYTES + 16 * 1024 * 1024;

/** Random salt the server makes per store; mixed into the root key. */
export const STORE_SALT_LENGTH = 32;
/** Public secret fingerprint: enough to tell a handful of secrets apart, too short to matter. */
export const FINGERPRINT_LENGTH = 8;
/** HMAC-SHA256 output: what the server stores instead of a key name. */
export const KEY_ID_LENGTH = 32;
/** Per-envelope random salt; 256 bits so one-time keys never repeat. */
export const MESSAGE_SALT_LENGTH = 32;
/** AES-256 key. */
export const ENC_KEY_LENGTH = 32;
/** GCM's standard 96-bit nonce. */
export const NONCE_LENGTH = 12;
/** Key commitment: collision-resistant, so an envelope opens under one key only. */
export const COMMITMENT_LENGTH = 32;
/** Hash of the per-message HKDF-Expand: SHA-512 gives enc_key ‖ commitment in one HMAC. */
export const MESSAGE_KDF_HASH = "sha512";
/** enc_key ‖ commitment: one SHA-512 block. */
export const MESSAGE_OKM_LENGTH = ENC_KEY_LENGTH + COMMITMENT_LENGTH;
/**
 * The GCM nonce of every envelope (and every blob at rest): 12 zero bytes. Safe because each
 * AES key comes from a fresh 256-bit salt and encrypts exactly one plaintext; a derived nonce
 * would repeat exactly when the key does, so it would add nothing. Read only, never written.
 */
export const ZERO_NONCE: Uint8Array = new Uint8Array(NONCE_LENGTH);
/** Full-length GCM tag; shorter tags weaken forgery resistance. */
export const TAG_LENGTH = 16;

/** version ‖ fingerprint ‖ salt ‖ commitment. */
export const HEADER_LENGTH = 1 + FINGERPRINT_LENGTH + MESSAGE_SALT_LENGTH + COMMITMENT_LENGTH;
/** Where the message salt starts in the header (after version and fingerprint). */
export const SALT_OFFSET = 1 + FINGERPRINT_LENGTH;
/** Where the key commitment starts in the header (after the salt). */
export const COMMITMENT_OFFSET = SALT_OFFSET + MESSAGE_SALT_LENGTH;

/** Frame kind of a sealed string (UTF-8), so open can hand back the same type. */
export const KIND_TEXT = 0x01;
/** Frame kind of a sealed Uint8Array. */
export const KIND_BYTES = 0x02;

/** Longest key name, in UTF-8 bytes; fits the frame's u16 length. */
export const MAX_KEY_NAME_BYTES = 1024;
/** 1 MiB of plaintext value; a store's own limit on the envelope is usually far lower. */
export const MAX_VALUE_BYTES = 1024 * 1024;

/**
 * Padded frame sizes up to one page; beyond that, whole 4 KiB pages. The smallest is 256, not
 * 64: with 64 and 128 a 40-character GitHub token (64) and a 103-character Google refresh
 * token (128) would still differ in size. 256 holds the common tokens plus a key name of
 * ~50 bytes, so they all look alike.
 */
export const PAD_BUCKETS = [256, 512, 1024, 2048, 4096] as const;
/** Past the largest bucket, frames are padded to whole pages of this size. */
export const PAD_PAGE = 4096;

/**
 * kind (1) ‖ u64be written-at (8) ‖ u16be name length (2) ‖ u32be value length (4): frame
 * bytes besides name and value.
 */
export const FRAME_FIXED_LENGTH = 1 + 8 + 2 + 4;
/** Where the frame's write time starts (after the kind byte). */
export const FRAME_WRITTEN_AT_OFFSET = 1;
/** Where the frame's u16be name length starts (after the write time). */
export const FRAME_NAME_LENGTH_OFFSET = FRAME_WRITTEN_AT_OFFSET + 8;
/** Where the key name starts. */
export const FRAME_NAME_OFFSET = FRAME_NAME_LENGTH_OFFSET + 2;
/**
 * Latest write time a frame may carry, in Unix milliseconds: the largest an ECMAScript Date
 * holds (year 275760), below 2^53 so every language reads it exactly. Anything later is a
 * malformed frame.
 */
export const MAX_WRITTEN_AT_MS = 8_640_000_000_000_000;

/**
 * The length `frameLength` bytes of frame are padded to.
 *
 * @throws never.
 * @example
 * ```ts
 * paddedLength(55); // 256
 * paddedLength(4097); // 8192
 * ```
 */
export function paddedLength(frameLength: number): number {
  for (const bucket of PAD_BUCKETS) if (frameLength <= bucket) return bucket;
  return Math.ceil(frameLength / PAD_PAGE) * PAD_PAGE;
}

/** Smallest padded frame (256). */
export const MIN_PADDED_LENGTH = PAD_BUCKETS[0];
/** Largest padded frame: a 1,024-byte name and a 1 MiB value (1,052,672). */
export const MAX_PADDED_LENGTH = paddedLength(
  FRAME_FIXED_LENGTH + MAX_KEY_NAME_BYTES + MAX_VALUE_BYTES,
);
/** Shortest envelope seal can produce (345 bytes). */
export const MIN_ENVELOPE_LENGTH = HEADER_LENGTH + MIN_PADDED_LENGTH + TAG_LENGTH;
/** Longest envelope seal can produce (1,052,761 bytes). */
export const MAX_ENVELOPE_LENGTH = HEADER_LENGTH + MAX_PADDED_LENGTH + TAG_LENGTH;

/**
 * Whether `length` is a size seal can produce for a padded frame (checked before any crypto).
 *
 * @throws never.
 * @example
 * ```ts
 * isPaddedLength(512); // true
 * isPaddedLength(300); // false
 * ```
 */
export function isPaddedLength(length: number): boolean {
  if (length < MIN_PADDED_LENGTH || length > MAX_PADDED_LENGTH) return false;
  return length <= PAD_PAGE
    ? (PAD_BUCKETS as readonly number[]).includes(length)
    : length % PAD_PAGE === 0;
}

/** Store ids (docs/sealing.md §2); at most 63 bytes so a one-byte length prefix fits. */
export const STORE_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
