import {
  FINGERPRINT_LENGTH,
  KEY_ID_LENGTH,
  STORE_ID_PATTERN,
  STORE_SALT_LENGTH,
} from "../crypto/format-v1.js";

/**
 * Limits of the vault. They are enforced before any write, and the
 * server's gRPC message size is derived from them.
 */
export const limits = Object.freeze({
  /** Store ids: lowercase, URL- and file-name-safe, at most 63 characters. */
  storeIdPattern: STORE_ID_PATTERN,
  /** Key ids are HMAC-SHA256 outputs. */
  keyIdBytes: KEY_ID_LENGTH,
  /** Secret fingerprints are 8 bytes (docs/sealing.md). */
  fingerprintBytes: FINGERPRINT_LENGTH,
  /** Stores' per-store salt, made at creation. */
  storeSaltBytes: STORE_SALT_LENGTH,
  /** Largest sealed value a new store accepts unless told otherwise. */
  defaultMaxValueBytes: 64 * 1024,
  /**
   * Lower bound for a store's max_value_bytes: the smallest sealed envelope is
   * 345 bytes (docs/sealing.md), so a smaller limit could hold nothing.
   */
  minValueBytesLimit: 1024,
  /** Upper bound for any store's max_value_bytes. */
  maxValueBytesCeiling: 1024 * 1024,
  /** Key refs in one BatchGetValues call. */
  maxBatchKeys: 1000,
  /** Previous-secret key refs in one call (rotation keeps few secrets alive). */
  maxPreviousKeys: 16,
  /** ListEntries page size bounds. */
  defaultPageSize: 256,
  maxPageSize: 1000,
  /** Fingerprint filters in one ListEntries call. */
  maxListFingerprints: 16,
  /** Free-text fields. */
  maxDescriptionChars: 1024,
  maxTokenNameChars: 128,
  /** Grants one token may carry. */
  maxGrantsPerToken: 256,
  /**
   * Sealed bytes in one ListEntries page. A listing holds about one page in
   * memory while its client reads (two at most), so this bounds what a client
   * that never reads can make the server hold; pages of large values are
   * split to stay under it (and under the 4 MiB gRPC clients accept).
   */
  maxStreamPageBytes: 1024 * 1024,
  /** A response the server will build for one call (batch reads of large values). */
  maxResponseBytes: 32 * 1024 * 1024,
});

/**
 * Largest request message the server accepts: one maximal value plus room for
 * ids and framing, or a full batch of key refs.
 */
export const maxRequestMessageBytes = limits.maxValueBytesCeiling + 64 * 1024;

/** Largest response message the server sends: a full response plus room for framing. */
export const maxResponseMessageBytes = limits.maxResponseBytes + 1024 * 1024;
