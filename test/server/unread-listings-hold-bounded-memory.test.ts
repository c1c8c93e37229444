import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { type ClientHttp2Session, connect } from "node:http2";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ListEntriesRequest } from "../../gen/hexclave/v1/vault_service.js";
import { rawClients } from "../support/grpc-clients.js";
import { frame, rawCall, rawSession, reasonOf } from "../support/raw-http2.js";
import { type ControlledServer, serverFleet, tempDataDir } from "../support/server-control.js";
import {
  createStore,
  createToken,
  keyRef,
  newFingerprint,
  setValue,
} from "../support/vault-fixtures.js";

/**
 * Threat: listings nobody reads. ListEntries used to load a page of up to
 * 1,000 rows whatever their size and hold them until the client read: six
 * never-read streams on a 46 MiB store added 498 MB of RSS. Each stream now
 * holds about one 1 MiB page, respects flow control, and streams are capped
 * per token and in total.
 */

const fleet = serverFleet();
const adminToken = `mem-admin-${randomBytes(24).toString("base64url")}`;
let server: ControlledServer;
const sessions: ClientHttp2Session[] = [];

beforeAll(async () => {
  const dataDir = fleet.track(await tempDataDir("hexclave-listing-mem-"));
  server = await fleet.start({ HEXCLAVE_DATA_DIR: dataDir, HEXCLAVE_ADMIN_TOKEN: adminToken });
  const c = rawClients(server.address);
  await createStore(c, adminToken, "large", { maxValueBytes: 1024 * 1024 });
  const fp = newFingerprint();
  for (let i = 0; i < 48; i++) {
    await setValue(c, adminToken, "large", keyRef(fp), randomBytes(1000 * 1024));
  }
  c.close();
});
afterAll(async () => {
  for (const s of sessions) s.destroy();
  await fleet.cleanup();
});

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB$/m);
  return Number(line?.[1] ?? 0) * 1024;
}

const listBody = frame(
  Buffer.from(
    ListEntriesRequest.encode({
      storeId: "large",
      secretFingerprints: [],
      startAfterKeyId: Buffer.alloc(0),
      pageSize: 1000n,
    }).finish(),
  ),
);

/** A listing whose client never reads: its flow-control window is zero. */
async function unreadListing(token: string): Promise<void> {
  const session = connect(`http://${server.address}`, { settings: { initialWindowSize: 0 } });
  session.on("error", () => {});
  sessions.push(session);
  const stream = session.request({
    ":method": "POST",
    ":path": "/hexclave.v1.VaultService/ListEntries",
    "content-type": "application/grpc",
    te: "trailers",
    authorization: `Bearer ${token}`,
  });
  stream.on("error", () => {});
  stream.end(listBody);
  await new Promise((resolve) => stream.once("response", resolve));
}

it("six never-read listings of a 47 MiB store hold a bounded amount; a fifth per token is refused", async () => {
  const pid = server.child.pid as number;
  const c = rawClients(server.address);
  const tokens = [
    (await createToken(c, adminToken, [{ storeId: "large", read: true, write: false }])).secret,
    (await createToken(c, adminToken, [{ storeId: "large", read: true, write: false }])).secret,
  ];
  c.close();
  const before = rssBytes(pid);
  for (let i = 0; i < 6; i++) await unreadListing(tokens[i % 2] as string);
  // Let the server fill whatever it is going to hold.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const grown = rssBytes(pid) - before;
  expect(grown, `RSS grew by ${Math.round(grown / 2 ** 20)} MiB`).toBeLessThan(32 * 2 ** 20);

  // Four listings per token at most: the fifth of token 0 is refused, cleanly.
  await unreadListing(tokens[0] as string);
  const session = await rawSession(server.address);
  sessions.push(session);
  const refused = await rawCall(
    session,
    "/hexclave.v1.VaultService/ListEntries",
    { authorization: `Bearer ${tokens[0]}` },
    listBody,
  );
  expect(refused.grpcStatus).toBe(status.RESOURCE_EXHAUSTED);
  expect(reasonOf(refused)).toBe("OVERLOADED");
  expect(refused.grpcMessage).toContain("per token");
});
