import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

/** This server process as the database knows it. */
export interface ServerIdentity {
  /** One per process and start; also names this writer's audit chain. */
  readonly id: string;
  /** Shared by the processes of one `hexclave serve --workers N`. */
  readonly groupId: string;
  readonly host: string;
  readonly pid: number;
}

/** A server that has not written a heartbeat for this long is gone. */
export const HEARTBEAT_STALE_MS = 5_000;
/** How often each server writes its heartbeat. */
export const HEARTBEAT_MS = 1_000;

/**
 * A new identity for this process.
 *
 * @example
 * const me = serverIdentity(process.env.HEXCLAVE_GROUP_ID);
 */
export function serverIdentity(groupId?: string): ServerIdentity {
  const id = randomBytes(8).toString("hex");
  return { id, groupId: groupId ?? id, host: hostname(), pid: process.pid };
}

/** A server in the registry. */
export interface RegisteredServer {
  readonly id: string;
  readonly groupId: string;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: number;
  readonly heartbeatAt: number;
}

/**
 * The servers outside this one's group still alive: a recent heartbeat, and,
 * on this host, a process that still exists (a server killed a moment ago
 * left a fresh heartbeat but no process).
 */
export async function otherLiveServers(
  db: Kysely<Database>,
  me: ServerIdentity,
  now: number,
): Promise<RegisteredServer[]> {
  const rows = await db
    .selectFrom("servers")
    .selectAll()
    .where("group_id", "!=", me.groupId)
    .where("heartbeat_at", ">", now - HEARTBEAT_STALE_MS)
    .execute();
  return rows
    .map((r) => ({
      id: r.id,
      groupId: r.group_id,
      host: r.host,
      pid: Number(r.pid),
      startedAt: Number(r.started_at),
      heartbeatAt: Number(r.heartbeat_at),
    }))
    .filter((s) => s.host !== me.host || processExists(s.pid));
}

/** Every registered server with a recent heartbeat, this one included. */
export async function liveServers(db: Kysely<Database>, now: number): Promise<RegisteredServer[]> {
  const rows = await db
    .selectFrom("servers")
    .selectAll()
    .where("heartbeat_at", ">", now - HEARTBEAT_STALE_MS)
    .orderBy("started_at")
    .execute();
  return rows.map((r) => ({
    id: r.id,
    groupId: r.group_id,
    host: r.host,
    pid: Number(r.pid),
    startedAt: Number(r.started_at),
    heartbeatAt: Number(r.heartbeat_at),
  }));
}

/** Adds this server to the registry, and forgets servers gone for an hour. */
export async function registerServer(db: Kysely<Database>, me: ServerIdentity): Promise<void> {
  const now = Date.now();
  await db
    .deleteFrom("servers")
    .where("heartbeat_at", "<", now - 3_600_000)
    .execute();
  await db
    .insertInto("servers")
    .values({
      id: me.id,
      group_id: me.groupId,
      host: me.host,
      pid: me.pid,
      started_at: now,
      heartbeat_at: now,
    })
    .execute();
}

/** Records that this server is alive. */
export async function heartbeat(db: Kysely<Database>, me: ServerIdentity): Promise<void> {
  await db
    .updateTable("servers")
    .set({ heartbeat_at: Date.now() })
    .where("id", "=", me.id)
    .execute();
}

/** Removes this server from the registry (a clean stop). */
export async function unregisterServer(db: Kysely<Database>, me: ServerIdentity): Promise<void> {
  await db.deleteFrom("servers").where("id", "=", me.id).execute();
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
