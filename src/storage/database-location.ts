import { join } from "node:path";
import { SQLITE_FILE_NAME } from "./sqlite-storage.js";

/**
 * Where a vault's database is, for the tools that move one (migrate, backup,
 * restore): a data directory (its hexclave.db), a single SQLite file (a
 * backup), or a PostgreSQL database.
 */
export type DatabaseLocation =
  | { readonly kind: "sqlite"; readonly dataDir: string }
  | { readonly kind: "sqlite-file"; readonly file: string }
  | { readonly kind: "postgres"; readonly url: string };

/** The SQLite file a location names; undefined for PostgreSQL. */
export function sqliteFileOf(location: DatabaseLocation): string | undefined {
  if (location.kind === "sqlite") return join(location.dataDir, SQLITE_FILE_NAME);
  if (location.kind === "sqlite-file") return location.file;
  return undefined;
}

/**
 * A location for messages: the directory or file, or the PostgreSQL URL
 * without its password.
 */
export function describeLocation(location: DatabaseLocation): string {
  if (location.kind === "sqlite") return `the data directory ${location.dataDir}`;
  if (location.kind === "sqlite-file") return location.file;
  try {
    const url = new URL(location.url);
    if (url.password !== "") url.password = "***";
    return `the PostgreSQL database ${url.toString()}`;
  } catch {
    return "the PostgreSQL database";
  }
}
