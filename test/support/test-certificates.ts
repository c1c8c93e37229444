import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** PEM files made for one test run, each path on disk. */
export interface TestCertificates {
  readonly dir: string;
  /** The CA that signs the server's certificates. */
  readonly ca: string;
  /** A server certificate for 127.0.0.1 and localhost, and its key. */
  readonly serverCert: string;
  readonly serverKey: string;
  /** Another server certificate (a rotation), same names. */
  readonly nextServerCert: string;
  readonly nextServerKey: string;
  /** A server certificate that expired in 2020. */
  readonly expiredServerCert: string;
  readonly expiredServerKey: string;
  /** A CA nobody trusts, and a server certificate it signed. */
  readonly otherCa: string;
  readonly strangerServerCert: string;
  readonly strangerServerKey: string;
  /** The CA that signs client certificates (mTLS), and a client certificate it signed. */
  readonly clientCa: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** A client certificate signed by the other CA. */
  readonly strangerClientCert: string;
  readonly strangerClientKey: string;
  /** A client certificate from the client CA that expired in 2020. */
  readonly expiredClientCert: string;
  readonly expiredClientKey: string;
}

/**
 * Makes real certificates with openssl for TLS tests: CAs, server and
 * client certificates (P-256 keys), one valid, one for another CA, one long
 * expired. openssl comes from Debian's apt.
 *
 * @example
 * const certs = makeTestCertificates(await tempDataDir("hexclave-tls-"));
 */
export function makeTestCertificates(dir: string): TestCertificates {
  mkdirSync(dir, { recursive: true });
  const path = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => {
    execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  };
  const ca = (name: string): void => {
    openssl(
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      path(`${name}.key`),
      "-out",
      path(`${name}.pem`),
      "-days",
      "2",
      "-subj",
      `/CN=${name}`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    );
  };
  // `openssl ca` can backdate a certificate (an expired one); it needs a minimal database.
  const caConfig = (name: string): string => {
    const base = path(`${name}-db`);
    mkdirSync(base, { recursive: true });
    writeFileSync(join(base, "index.txt"), "");
    writeFileSync(join(base, "serial"), `${Date.now().toString(16).padStart(16, "0")}\n`);
    const config = path(`${name}.cnf`);
    writeFileSync(
      config,
      [
        "[ca]",
        "default_ca = this",
        "[this]",
        `dir = ${base}`,
        "database = $dir/index.txt",
        "serial = $dir/serial",
        "new_certs_dir = $dir",
        `certificate = ${path(`${name}.pem`)}`,
        `private_key = ${path(`${name}.key`)}`,
        "default_md = sha256",
        "policy = any",
        "copy_extensions = copy",
        "unique_subject = no",
        "[any]",
        "commonName = supplied",
      ].join("\n"),
    );
    return config;
  };
  const leaf = (
    name: string,
    signer: string,
    usage: "server" | "client",
    dates: { start: string; end: string } | undefined,
  ): void => {
    const san =
      usage === "server"
        ? "subjectAltName=IP:127.0.0.1,DNS:localhost"
        : "subjectAltName=DNS:client";
    openssl(
      "req",
      "-new",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      path(`${name}.key`),
      "-out",
      path(`${name}.csr`),
      "-subj",
      `/CN=${name}`,
      "-addext",
      san,
      "-addext",
      `extendedKeyUsage=${usage === "server" ? "serverAuth" : "clientAuth"}`,
    );
    const validity =
      dates === undefined
        ? [
            "-startdate",
            stamp(Date.now() - 3_600_000),
            "-enddate",
            stamp(Date.now() + 2 * 86_400_000),
          ]
        : ["-startdate", dates.start, "-enddate", dates.end];
    openssl(
      "ca",
      "-batch",
      "-notext",
      "-config",
      caConfig(signer),
      "-in",
      path(`${name}.csr`),
      "-out",
      path(`${name}.pem`),
      ...validity,
    );
  };
  const expired = { start: "20200101000000Z", end: "20200102000000Z" };
  ca("server-ca");
  ca("client-ca");
  ca("other-ca");
  leaf("server", "server-ca", "server", undefined);
  leaf("next-server", "server-ca", "server", undefined);
  leaf("expired-server", "server-ca", "server", expired);
  leaf("stranger-server", "other-ca", "server", undefined);
  leaf("client", "client-ca", "client", undefined);
  leaf("stranger-client", "other-ca", "client", undefined);
  leaf("expired-client", "client-ca", "client", expired);
  return {
    dir,
    ca: path("server-ca.pem"),
    serverCert: path("server.pem"),
    serverKey: path("server.key"),
    nextServerCert: path("next-server.pem"),
    nextServerKey: path("next-server.key"),
    expiredServerCert: path("expired-server.pem"),
    expiredServerKey: path("expired-server.key"),
    otherCa: path("other-ca.pem"),
    strangerServerCert: path("stranger-server.pem"),
    strangerServerKey: path("stranger-server.key"),
    clientCa: path("client-ca.pem"),
    clientCert: path("client.pem"),
    clientKey: path("client.key"),
    strangerClientCert: path("stranger-client.pem"),
    strangerClientKey: path("stranger-client.key"),
    expiredClientCert: path("expired-client.pem"),
    expiredClientKey: path("expired-client.key"),
  };
}

/** A time as `openssl ca` takes it: YYYYMMDDHHMMSSZ. */
function stamp(ms: number): string {
  return `${new Date(ms).toISOString().replace(/[-:T]/g, "").slice(0, 14)}Z`;
}
