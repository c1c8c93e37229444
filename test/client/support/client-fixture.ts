import type { StoreGrant } from "../../../gen/hexclave/v1/types.js";
import { HexclaveClient, type HexclaveClientOptions } from "../../../src/client/index.js";
import { bearer, call, type RawClients, rawClients } from "../../support/grpc-clients.js";
import { startTestServer, type TestServer } from "../../support/test-server.js";

/** A real server on port 0 plus what client tests need around it. */
export interface ClientFixture {
  readonly server: TestServer;
  readonly raw: RawClients;
  /** Creates a store through the admin API. */
  createStore(id: string, options?: { maxValueBytes?: number }): Promise<void>;
  /** Creates a token through the admin API and returns its text. */
  createToken(grants: readonly StoreGrant[]): Promise<string>;
  /** A client on the server, with the admin token unless told otherwise; closed with the fixture. */
  client(options?: Partial<HexclaveClientOptions>): HexclaveClient;
  close(): Promise<void>;
}

/**
 * Starts a server for a client test.
 *
 * @example
 * const f = await startClientFixture();
 * afterAll(() => f.close());
 */
export async function startClientFixture(
  options: Parameters<typeof startTestServer>[0] = {},
): Promise<ClientFixture> {
  const server = await startTestServer(options);
  const raw = rawClients(server.address);
  const admin = bearer(server.adminToken);
  const clients: HexclaveClient[] = [];
  return {
    server,
    raw,
    async createStore(id, storeOptions = {}) {
      await call(
        raw.admin,
        raw.admin.createStore,
        {
          storeId: id,
          description: "",
          maxValueBytes:
            storeOptions.maxValueBytes === undefined
              ? undefined
              : BigInt(storeOptions.maxValueBytes),
        },
        admin,
      );
    },
    async createToken(grants) {
      const res = await call(
        raw.admin,
        raw.admin.createToken,
        { name: "client-test", admin: false, grants: [...grants] },
        admin,
      );
      return res.secret;
    },
    client(clientOptions = {}) {
      const client = new HexclaveClient({
        address: server.address,
        token: server.adminToken,
        ...clientOptions,
      });
      clients.push(client);
      return client;
    },
    async close() {
      for (const c of clients) c.close();
      raw.close();
      await server.close();
    },
  };
}
