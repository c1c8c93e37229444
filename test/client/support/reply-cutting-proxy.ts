import { once } from "node:events";
import { createConnection, createServer, type Socket } from "node:net";

/**
 * A TCP proxy in front of a gRPC server that can lose one answer: the next
 * call whose bytes contain a marker reaches the server, which acts on it and
 * answers, but the client's connection is cut before the answer gets back.
 * That is how a write looks when the network, a proxy or a crash loses its
 * acknowledgement: applied, yet reported UNAVAILABLE. Made repeatable.
 *
 * Connections the client opens after a cut wait until the server has
 * answered the cut call, so a retry always finds the first try's effect.
 */
export interface ReplyCuttingProxy {
  readonly address: string;
  /**
   * Cuts the connection that sends `marker` next, after those bytes are
   * delivered. `meanwhile` runs once the server has answered the cut call
   * and before any new connection goes through (another writer, say).
   * Resolves once the answer has been dropped and `meanwhile` has run.
   */
  cutAfter(marker: Buffer, meanwhile?: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

/**
 * @example
 * const proxy = await replyCuttingProxy(server.address);
 * const cut = proxy.cutAfter(Buffer.from("store-id"));
 */
export async function replyCuttingProxy(target: string): Promise<ReplyCuttingProxy> {
  const [host, port] = splitAddress(target);
  const sockets = new Set<Socket>();
  let armed: { marker: Buffer; meanwhile: () => Promise<void>; done: () => void } | undefined;
  /** Settles once the cut call has been answered (and `meanwhile` ran); new connections wait on it. */
  let gate: Promise<void> = Promise.resolve();

  const track = (s: Socket): Socket => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    return s;
  };

  const server = createServer((client) => {
    track(client);
    const early: Buffer[] = [];
    let upstream: Socket | undefined;
    let cut = false;
    client.on("data", (chunk: Buffer) => {
      const trap = armed;
      if (upstream !== undefined && trap !== undefined && chunk.includes(trap.marker)) {
        armed = undefined;
        cut = true;
        const answered = new Promise<void>((resolve) => {
          (upstream as Socket).once("data", () => resolve());
          (upstream as Socket).once("close", () => resolve());
        });
        gate = answered.then(trap.meanwhile).then(() => {
          (upstream as Socket).destroy();
          trap.done();
        });
        upstream.write(chunk);
        // The client hears nothing more on this connection.
        client.destroy();
        return;
      }
      if (upstream === undefined) early.push(chunk);
      else upstream.write(chunk);
    });
    client.on("close", () => {
      if (!cut) upstream?.destroy();
    });
    void gate.then(() => {
      if (client.destroyed) return;
      const up = track(createConnection({ host, port }));
      upstream = up;
      for (const chunk of early.splice(0)) up.write(chunk);
      up.on("data", (chunk: Buffer) => {
        if (!cut) client.write(chunk);
      });
      up.on("close", () => {
        if (!cut) client.destroy();
      });
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const bound = server.address();
  const proxyPort = typeof bound === "object" && bound !== null ? bound.port : 0;
  return {
    address: `127.0.0.1:${proxyPort}`,
    cutAfter(marker, meanwhile = async () => {}) {
      return new Promise((resolve) => {
        armed = { marker, meanwhile, done: resolve };
      });
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function splitAddress(address: string): [string, number] {
  const at = address.lastIndexOf(":");
  return [address.slice(0, at).replace(/^\[|\]$/g, ""), Number(address.slice(at + 1))];
}
