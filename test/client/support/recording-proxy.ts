import { connect, createServer, type Socket } from "node:net";

/** A TCP proxy in front of a server that keeps every byte in both directions. */
export interface RecordingProxy {
  /** `127.0.0.1:<port>` to dial instead of the server. */
  readonly address: string;
  /** Everything the client sent, every connection concatenated. */
  clientToServer(): Buffer;
  /** Everything the server sent. */
  serverToClient(): Buffer;
  /** Each connection's bytes, per direction. */
  connections(): { up: Buffer; down: Buffer }[];
  /** Stops forwarding the server's bytes (to make calls hang until their deadline). */
  holdReplies(): void;
  close(): Promise<void>;
}

/**
 * Starts a recording proxy on port 0 in front of `target` (`host:port`).
 *
 * @example
 * const proxy = await startRecordingProxy(server.address);
 * const client = new HexclaveClient({ address: proxy.address, token });
 */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const [host, port] = splitAddress(target);
  const up: Buffer[][] = [];
  const down: Buffer[][] = [];
  const sockets = new Set<Socket>();
  let holding = false;

  const server = createServer((client) => {
    const sent: Buffer[] = [];
    const received: Buffer[] = [];
    up.push(sent);
    down.push(received);
    const upstream = connect(port, host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on("data", (chunk: Buffer) => {
      sent.push(Buffer.from(chunk));
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      received.push(Buffer.from(chunk));
      if (!holding) client.write(chunk);
    });
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const bound = server.address();
  if (bound === null || typeof bound === "string") throw new Error("proxy did not bind a TCP port");

  return {
    address: `127.0.0.1:${bound.port}`,
    clientToServer: () => Buffer.concat(up.map((chunks) => Buffer.concat(chunks))),
    serverToClient: () => Buffer.concat(down.map((chunks) => Buffer.concat(chunks))),
    connections: () =>
      up.map((chunks, i) => ({
        up: Buffer.concat(chunks),
        down: Buffer.concat(down[i] ?? []),
      })),
    holdReplies() {
      holding = true;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function splitAddress(address: string): [string, number] {
  const at = address.lastIndexOf(":");
  return [address.slice(0, at), Number(address.slice(at + 1))];
}
