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

/** The address clients should dial, given the configured one and the bound port. */
export function boundAddress(listen: string, port: number): string {
  if (listen.startsWith("unix:")) return listen;
  const host = listen.slice(0, listen.lastIndexOf(":"));
  const dial = host === "0.0.0.0" ? "127.0.0.1" : host === "[::]" ? "[::1]" : host;
  return `${dial}:${port}`;
}
