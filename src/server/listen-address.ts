import { lstat, unlink } from "node:fs/promises";
import { connect } from "node:net";

/**
 * Prepares a `unix:/path` listen address: a socket file left by a server that
 * died is removed; one that still answers is left alone so the bind fails
 * loudly instead of stealing a live server's socket.
 */
export async function clearStaleSocket(listen: string): Promise<void> {
  if (!listen.startsWith("unix:")) return;
  const path = listen.slice("unix:".length);
  const stat = await lstat(path).catch(() => undefined);
  if (stat === undefined || !stat.isSocket()) return;
  const alive = await new Promise<boolean>((resolve) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
  if (!alive) await unlink(path);
}

/**
 * The address a client on this machine dials to reach a bound address: the
 * loopback address for a wildcard bind.
 *
 * @example
 * dialAddress("0.0.0.0:50051"); // "127.0.0.1:50051"
 */
export function dialAddress(bound: string): string {
  if (bound.startsWith("unix:")) return bound;
  const colon = bound.lastIndexOf(":");
  const host = bound.slice(0, colon);
  const dial = host === "0.0.0.0" ? "127.0.0.1" : host === "[::]" ? "[::1]" : host;
  return `${dial}:${bound.slice(colon + 1)}`;
}

/**
 * Whether only this machine can reach an address: a Unix socket, or a
 * loopback host (127.0.0.0/8, ::1, localhost). A wildcard or any other host
 * may be reached over a network.
 *
 * @example
 * isPrivateAddress("127.0.0.1:50051"); // true
 * isPrivateAddress("0.0.0.0:50051"); // false
 */
export function isPrivateAddress(listen: string): boolean {
  if (listen.startsWith("unix:")) return true;
  const host = listen
    .slice(0, listen.lastIndexOf(":"))
    .replace(/^\[(.*)\]$/, "$1")
    .toLowerCase();
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
