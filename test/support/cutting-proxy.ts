import { once } from "node:events";
import { createConnection, createServer, type Socket } from "node:net";

/**
 * A TCP proxy in front of PostgreSQL that can cut one connection at an exact
 * point of the conversation: after a given client message has reached the
 * server, before the server's answer gets back. That is how a commit whose
 * acknowledgement was lost looks to a client (a network failure, a killed
 * proxy or pooler), made repeatable.
 */
export interface CuttingProxy {
  /** `url` with its host and port replaced by the proxy's. */
  readonly url: string;
  /**
   * The next time a client sends bytes containing `marker`, those bytes are
   * delivered to the server and that connection is then cut both ways.
   * Resolves once it has been cut.
   */
  cutAfter(marker: Buffer): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts a proxy to the PostgreSQL server `url` points at.
 *
 * @example
 * const proxy = await cuttingProxy(databaseUrl);
 * const cut = proxy.cutAfter(Buffer.from("commit\0"));
 */
export async function cuttingProxy(url: string): Promise<CuttingProxy> {
  const target = new URL(url);
  const sockets = new Set<Socket>();
  let armed: { marker: Buffer; done: () => void } | undefined;
  const server = createServer((client) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
    }
    let cutting = false;
    upstream.on("data", (chunk: Buffer) => {
      if (!cutting) client.write(chunk);
    });
    upstream.on("close", () => client.destroy());
    client.on("close", () => {
      // After a cut the server side closes by itself once it has read (and acted on) everything.
      if (!cutting) upstream.destroy();
    });
    client.on("data", (chunk: Buffer) => {
      const cut = armed;
      if (cut !== undefined && chunk.includes(cut.marker)) {
        armed = undefined;
        cutting = true;
        // Deliver the message, then hang up on both: the server acts on it, the client never hears.
        upstream.end(chunk);
        client.destroy();
        cut.done();
        return;
      }
      upstream.write(chunk);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const proxied = new URL(url);
  proxied.hostname = "127.0.0.1";
  proxied.port = String(typeof address === "object" && address !== null ? address.port : 0);
  return {
    url: proxied.toString(),
    cutAfter(marker) {
      return new Promise((resolve) => {
        armed = { marker, done: resolve };
      });
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
