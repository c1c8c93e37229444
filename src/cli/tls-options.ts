import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import { type ChannelCredentials, type ChannelOptions, credentials } from "@grpc/grpc-js";
import type { ClientTlsOptions } from "../client/tls-credentials.js";
import { tlsCredentials } from "../client/tls-credentials.js";
import { CliError } from "./cli-output.js";

/**
 * The CLI's TLS, from the environment every client command reads:
 * HEXCLAVE_TLS_CA (the CA that signed the server's certificate),
 * HEXCLAVE_TLS_CERT and HEXCLAVE_TLS_KEY (a client certificate, for mTLS) —
 * file paths. None set: plaintext (a server on loopback or a socket).
 *
 * @throws CliError naming a file that cannot be read.
 */
export function cliTls(env: NodeJS.ProcessEnv = process.env): ClientTlsOptions | undefined {
  const ca = fileOf(env.HEXCLAVE_TLS_CA, "HEXCLAVE_TLS_CA");
  const cert = fileOf(env.HEXCLAVE_TLS_CERT, "HEXCLAVE_TLS_CERT");
  const key = fileOf(env.HEXCLAVE_TLS_KEY, "HEXCLAVE_TLS_KEY");
  if (ca === undefined && cert === undefined && key === undefined) return undefined;
  if ((cert === undefined) !== (key === undefined)) {
    throw new CliError(
      "HEXCLAVE_TLS_CERT and HEXCLAVE_TLS_KEY go together (mTLS): set both or neither",
    );
  }
  return { ca, cert, key, serverName: nonEmpty(env.HEXCLAVE_TLS_SERVER_NAME) };
}

/**
 * Channel credentials for raw generated clients (admin commands, `hexclave
 * health`). With HEXCLAVE_TLS_CA it verifies the server as any client does;
 * without it, but beside a server configured with HEXCLAVE_TLS_SERVER_CERT
 * (in the server's own container: the HEALTHCHECK, `docker exec <c> hexclave
 * stores list`), it pins exactly that certificate — the command dials its
 * own server on loopback, where the certificate's name cannot match.
 */
export function cliCredentials(env: NodeJS.ProcessEnv = process.env): ChannelCredentials {
  const tls = cliTls(env);
  if (tls !== undefined) return tlsCredentials(tls);
  const serverCert = fileOf(env.HEXCLAVE_TLS_SERVER_CERT, "HEXCLAVE_TLS_SERVER_CERT");
  if (serverCert === undefined) return credentials.createInsecure();
  const pinned = new X509Certificate(serverCert).fingerprint256;
  return credentials.createFromSecureContext(
    createSecureContext({ ca: serverCert, allowPartialTrustChain: true }),
    {
      checkServerIdentity: (_host, cert) =>
        cert.fingerprint256 === pinned
          ? undefined
          : new Error("the server presented another certificate than HEXCLAVE_TLS_SERVER_CERT"),
    },
  );
}

/**
 * Channel options to go with {@link cliCredentials}: the name the server's
 * certificate must carry (HEXCLAVE_TLS_SERVER_NAME), or — when the
 * certificate is pinned beside the server — "localhost" as the TLS server
 * name, since a server name may not be an IP address (the pinned check looks
 * at the certificate, not at names).
 */
export function cliChannelOptions(env: NodeJS.ProcessEnv = process.env): ChannelOptions {
  const tls = cliTls(env);
  if (tls !== undefined) {
    return tls.serverName === undefined ? {} : { "grpc.ssl_target_name_override": tls.serverName };
  }
  return nonEmpty(env.HEXCLAVE_TLS_SERVER_CERT) === undefined
    ? {}
    : { "grpc.ssl_target_name_override": "localhost" };
}

function fileOf(path: string | undefined, name: string): Buffer | undefined {
  const file = nonEmpty(path);
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch (error) {
    throw new CliError(`${name} ${file} cannot be read: ${(error as Error).message}`);
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
