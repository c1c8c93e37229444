import { createHmac } from "node:crypto";
import { hkdf } from "./primitives.js";

/**
 * The key that authenticates the audit log's hash chains: HKDF-SHA256 of the
 * master key with info "hexclave/v1 audit-log" (empty salt), 32 bytes. Only a
 * holder of the master key can extend a chain or recompute one after
 * altering a record; the database alone is not enough.
 *
 * @example
 * const key = auditKey(masterKey);
 */
export function auditKey(masterKey: Uint8Array): Buffer {
  return hkdf(masterKey, Buffer.alloc(0), Buffer.from("hexclave/v1 audit-log", "ascii"), 32);
}

/**
 * One link of an audit chain: HMAC-SHA256 under the audit key of the
 * previous link, then each field as a 4-byte big-endian length and its UTF-8
 * bytes (numbers in decimal; an absent field as length 0xffffffff, no bytes).
 * docs/audit.md specifies it with a worked example.
 *
 * @example
 * const link = auditMac(key, previous, ["chain", 1, 1700000000000, "req-1", null]);
 */
export function auditMac(
  key: Uint8Array,
  previous: Uint8Array,
  fields: readonly (string | number | null)[],
): Buffer {
  const mac = createHmac("sha256", key).update(previous);
  const length = Buffer.alloc(4);
  for (const field of fields) {
    if (field === null) {
      length.writeUInt32BE(0xffffffff);
      mac.update(length);
      continue;
    }
    const bytes = Buffer.from(String(field), "utf8");
    length.writeUInt32BE(bytes.length);
    mac.update(length).update(bytes);
  }
  return mac.digest();
}
