import { createHash, type Hash } from "node:crypto";
import type { Kysely } from "kysely";
import {
  allTokens,
  auditChainIds,
  auditCheckpoints,
  auditPage,
  entriesPage,
  liveStores,
  PORTABLE_COLUMNS,
  type PortableRow,
  type PortableTable,
  storeSecrets,
} from "./portable-rows.js";
import type { Database } from "./schema.js";

/** One live store's contents, summed up. */
export interface StoreDigest {
  readonly id: string;
  /** The store's internal identity (hex). */
  readonly uid: string;
  /** The master key its data key is wrapped under (hex id). */
  readonly masterKeyId: string;
  readonly entries: number;
  readonly secrets: number;
  /** SHA-256 over the store row, its secrets by fingerprint, its entries by key id (hex). */
  readonly sha256: string;
}

/** What a database holds, summed up so two copies can be compared without comparing rows. */
export interface DatabaseDigest {
  /** Live stores by uid. */
  readonly stores: readonly StoreDigest[];
  readonly entries: number;
  readonly tokens: { readonly count: number; readonly sha256: string };
  readonly audit: {
    readonly records: number;
    readonly checkpoints: number;
    readonly sha256: string;
  };
}

/** Rows read per query. */
const PAGE = 5000;

/**
 * Digests every row a logical copy moves: per live store, SHA-256 over its
 * row, its secrets and its entries in key id order; one digest over the
 * tokens and one over the audit log (chains in byte order, records in seq
 * order, then the checkpoints). Every column is covered, each as a tagged,
 * length-prefixed field, so two databases with equal digests hold the same
 * rows. Entries stay sealed: a digest needs no key.
 *
 * @example
 * const before = await digestDatabase(source);
 * const after = await digestDatabase(target);
 * const problems = compareDigests(before, after);
 */
export async function digestDatabase(
  db: Kysely<Database>,
  onProgress?: (entries: number) => void,
): Promise<DatabaseDigest> {
  const stores: StoreDigest[] = [];
  let entries = 0;
  for (const store of await liveStores(db)) {
    const hash = createHash("sha256");
    hashRow(hash, "stores", store);
    const secrets = await storeSecrets(db, store.uid);
    for (const secret of secrets) hashRow(hash, "store_secrets", secret);
    let count = 0;
    let after: Buffer | undefined;
    for (;;) {
      const page = await entriesPage(db, store.uid, after, PAGE);
      for (const row of page) hashRow(hash, "entries", row);
      count += page.length;
      entries += page.length;
      onProgress?.(entries);
      if (page.length < PAGE) break;
      after = page[page.length - 1]?.key_id;
    }
    stores.push({
      id: store.id,
      uid: store.uid.toString("hex"),
      masterKeyId: store.master_key_id.toString("hex"),
      entries: count,
      secrets: secrets.length,
      sha256: hash.digest("hex"),
    });
  }

  const tokenHash = createHash("sha256");
  const tokens = await allTokens(db);
  for (const token of tokens) hashRow(tokenHash, "tokens", token);

  const auditHash = createHash("sha256");
  let records = 0;
  for (const chainId of await auditChainIds(db)) {
    let afterSeq = 0;
    for (;;) {
      const page = await auditPage(db, chainId, afterSeq, PAGE);
      for (const row of page) hashRow(auditHash, "audit_log", row);
      records += page.length;
      if (page.length < PAGE) break;
      afterSeq = page[page.length - 1]?.seq ?? afterSeq;
    }
  }
  const checkpoints = await auditCheckpoints(db);
  for (const checkpoint of checkpoints) hashRow(auditHash, "audit_checkpoints", checkpoint);

  return {
    stores,
    entries,
    tokens: { count: tokens.length, sha256: tokenHash.digest("hex") },
    audit: { records, checkpoints: checkpoints.length, sha256: auditHash.digest("hex") },
  };
}

/**
 * Where two digests differ, one line each, naming stores by id: empty when
 * the databases hold the same rows.
 *
 * @example
 * const problems = compareDigests(sourceDigest, targetDigest, ["the source", "the target"]);
 */
export function compareDigests(
  expected: DatabaseDigest,
  actual: DatabaseDigest,
  names: readonly [string, string] = ["the source", "the target"],
): string[] {
  const [a, b] = names;
  const problems: string[] = [];
  const theirs = new Map(actual.stores.map((s) => [s.uid, s]));
  for (const store of expected.stores) {
    const other = theirs.get(store.uid);
    theirs.delete(store.uid);
    if (other === undefined) {
      problems.push(`store "${store.id}" is in ${a} but not in ${b}`);
    } else if (other.sha256 !== store.sha256 || other.entries !== store.entries) {
      problems.push(
        `store "${store.id}" differs: ${store.entries} entries, digest ${store.sha256.slice(0, 16)}… in ${a}; ${other.entries} entries, digest ${other.sha256.slice(0, 16)}… in ${b}`,
      );
    }
  }
  for (const extra of theirs.values()) {
    problems.push(`store "${extra.id}" is in ${b} but not in ${a}`);
  }
  if (expected.tokens.sha256 !== actual.tokens.sha256) {
    problems.push(
      `the tokens differ: ${expected.tokens.count} in ${a}, ${actual.tokens.count} in ${b}`,
    );
  }
  if (expected.audit.sha256 !== actual.audit.sha256) {
    problems.push(
      `the audit log differs: ${expected.audit.records} records and ${expected.audit.checkpoints} checkpoints in ${a}, ${actual.audit.records} and ${actual.audit.checkpoints} in ${b}`,
    );
  }
  return problems;
}

const NULL = Buffer.from([0]);
const NUMBER = 1;
const TEXT = 2;
const BYTES = 3;

/** Feeds a row to the hash: each column as tag ‖ u32 length ‖ bytes, null as a lone 0 tag. */
function hashRow<T extends PortableTable>(hash: Hash, table: T, row: PortableRow<T>): void {
  const header = Buffer.alloc(5);
  for (const column of PORTABLE_COLUMNS[table]) {
    const value = (row as Record<string, unknown>)[column];
    if (value === null || value === undefined) {
      hash.update(NULL);
      continue;
    }
    let tag: number;
    let bytes: Buffer;
    if (Buffer.isBuffer(value)) {
      tag = BYTES;
      bytes = value;
    } else if (typeof value === "number") {
      tag = NUMBER;
      bytes = Buffer.from(String(value), "ascii");
    } else {
      tag = TEXT;
      bytes = Buffer.from(String(value), "utf8");
    }
    header[0] = tag;
    header.writeUInt32BE(bytes.length, 1);
    hash.update(header).update(bytes);
  }
}
