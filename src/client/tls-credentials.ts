import { type ChannelCredentials, credentials } from "@grpc/grpc-js";
import { HexclaveError } from "./hexclave-error.js";

/**
 * TLS for the client: the CA that signed the server's certificate, and for
 * mTLS the client's own certificate and key. PEM text or bytes.
 *
 * @example
 * const tls: ClientTlsOptions = { ca: readFileSync("/etc/hexclave/ca.pem") };
 */
export interface ClientTlsOptions {
  /** CA certificates to trust for the server, PEM. Default: the system's roots. */
  readonly ca?: string | Uint8Array | undefined;
  /** The client certificate (mTLS), PEM; give `key` with it. */
  readonly cert?: string | Uint8Array | undefined;
  /** The client certificate's private key (mTLS), PEM. */
  readonly key?: string | Uint8Array | undefined;
  /** The name the server's certificate must carry, when it is not the address's host. */
  readonly serverName?: string | undefined;
}

/**
 * grpc-js channel credentials for {@link ClientTlsOptions}.
 *
 * @throws HexclaveError INVALID_ARGUMENT for a certificate without its key (or the reverse).
 * @example
 * const creds = tlsCredentials({ ca });
 */
export function tlsCredentials(tls: ClientTlsOptions): ChannelCredentials {
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw new HexclaveError(
      "INVALID_ARGUMENT",
      '"tls.cert" and "tls.key" go together (mTLS): give both or neither',
    );
  }
  const bytes = (value: string | Uint8Array | undefined): Buffer | null =>
    value === undefined ? null : Buffer.from(value);
  return credentials.createSsl(bytes(tls.ca), bytes(tls.key), bytes(tls.cert));
}
