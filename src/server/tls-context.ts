import { createHash, X509Certificate } from "node:crypto";
import { type FSWatcher, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { createSecureContext, type TlsOptions, type Server as TlsServer } from "node:tls";
import type { Logger } from "pino";
import type { TlsFiles } from "./server-config.js";

/** The server's TLS, shared by its listeners and kept current as the files change. */
export interface ServerTls {
  /** Whether clients must present a certificate signed by the client CA. */
  readonly mutual: boolean;
  /** Options for tls.createServer / https.createServer, as the files hold them now. */
  serverOptions(): TlsOptions;
  /** Keeps `server` on the current certificate from now on. */
  attach(server: TlsServer): void;
  /** Stops watching the files. */
  close(): void;
}

/** How often the files are compared even without a change event (events miss some replacements). */
const POLL_MS = 10_000;

/**
 * Loads the server certificate, key and (for mTLS) client CA, and reloads
 * them whenever the files change — cert-manager and Kubernetes secret
 * volumes replace them in place — without dropping the listener: new
 * connections get the new certificate, open ones keep theirs. A replacement
 * that does not load (a key that does not match, a half-written file) is
 * refused and logged; the server keeps the certificate it has.
 *
 * Client certificates are requested but not required at the TLS layer, so
 * health checks and probes can connect without one; every Hexclave call
 * then needs a certificate the client CA verified (see
 * interceptors/require-client-certificate.ts).
 *
 * @throws Error naming the file that cannot be read or does not load.
 * @example
 * const tls = await loadServerTls({ certFile, keyFile, clientCaFile: undefined }, log);
 */
export async function loadServerTls(files: TlsFiles, log: Logger): Promise<ServerTls> {
  let current = await readMaterial(files);
  describe(current, log, "loaded");
  const servers = new Set<TlsServer>();
  let reloading = false;
  const reload = async (): Promise<void> => {
    if (reloading) return;
    reloading = true;
    try {
      const next = await readMaterial(files);
      if (next.fingerprint === current.fingerprint) return;
      current = next;
      for (const server of servers) server.setSecureContext(current.options);
      describe(current, log, "reloaded");
    } catch (err) {
      log.error({ err }, "the new TLS files do not load: still serving the previous certificate");
    } finally {
      reloading = false;
    }
  };
  const watchers: FSWatcher[] = [];
  for (const dir of new Set(
    [files.certFile, files.keyFile, files.clientCaFile].filter(isSet).map((f) => dirname(f)),
  )) {
    try {
      const watcher = watch(dir, () => void reload());
      watcher.on("error", () => {});
      watchers.push(watcher);
    } catch {
      // Polling below still notices.
    }
  }
  const poll = setInterval(() => void reload(), POLL_MS);
  poll.unref();
  return {
    mutual: files.clientCaFile !== undefined,
    serverOptions: () => ({
      ...current.options,
      requestCert: files.clientCaFile !== undefined,
      rejectUnauthorized: false,
    }),
    attach(server) {
      servers.add(server);
      server.on("close", () => servers.delete(server));
    },
    close() {
      clearInterval(poll);
      for (const watcher of watchers) watcher.close();
    },
  };
}

interface Material {
  readonly options: { cert: Buffer; key: Buffer; ca?: Buffer };
  readonly certificate: X509Certificate;
  readonly fingerprint: string;
}

async function readMaterial(files: TlsFiles): Promise<Material> {
  const read = async (path: string, what: string): Promise<Buffer> => {
    try {
      return await readFile(path);
    } catch (error) {
      throw new Error(`the TLS ${what} ${path} cannot be read: ${(error as Error).message}`, {
        cause: error,
      });
    }
  };
  const cert = await read(files.certFile, "certificate");
  const key = await read(files.keyFile, "key");
  const ca =
    files.clientCaFile === undefined ? undefined : await read(files.clientCaFile, "client CA");
  const options = ca === undefined ? { cert, key } : { cert, key, ca };
  try {
    // Checks that the key matches the certificate before any server uses them.
    createSecureContext(options);
  } catch (error) {
    throw new Error(
      `the TLS certificate ${files.certFile} and key ${files.keyFile} do not load together: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const fingerprint = createHash("sha256")
    .update(cert)
    .update(key)
    .update(ca ?? "")
    .digest("hex");
  return { options, certificate: new X509Certificate(cert), fingerprint };
}

function describe(material: Material, log: Logger, what: "loaded" | "reloaded"): void {
  const { certificate } = material;
  const expires = new Date(certificate.validTo);
  const fields = {
    subject: certificate.subject.replaceAll("\n", ", "),
    expires: expires.toISOString(),
    sha256: certificate.fingerprint256.replaceAll(":", "").slice(0, 16).toLowerCase(),
  };
  if (expires.getTime() <= Date.now()) {
    log.error(fields, `${what} a TLS certificate that has expired: clients will refuse it`);
  } else if (expires.getTime() - Date.now() < 7 * 86_400_000) {
    log.warn(fields, `${what} a TLS certificate that expires within a week`);
  } else {
    log.info(fields, `${what} the TLS certificate`);
  }
}

function isSet(value: string | undefined): value is string {
  return value !== undefined;
}
