import { createServer } from "node:net";

/**
 * A TCP port nobody listens on now on `host` (the OS picks it), for a child
 * process — PostgreSQL, Prometheus, a server under test — that binds it a
 * moment later. Shared by the benchmark, the tools and the tests.
 *
 * @example
 * const port = await freePort(); // then: postgres -p ${port}
 */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
