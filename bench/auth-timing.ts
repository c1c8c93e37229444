import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { connect, constants } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStorage } from "../src/storage/open-storage.js";
import { serverIdentity } from "../src/storage/server-registry.js";
import { newAccessToken, parseAccessToken } from "../src/vault/access-token.js";
import { openVault } from "../src/vault/vault.js";
import { grpcFrame } from "./grpc-frame.js";
import { createBenchStore, preload } from "./preload.js";
import { getValueBody } from "./request-bodies.js";
import { startHexclave } from "./server-process.js";

/**
 * How long a call takes with a valid token, a well-formed token whose id no
 * token has, and a known token id with a wrong secret — the claim under test
 * is that the server's verification costs the same for the last two, so
 * their timing does not tell an attacker which token ids exist.
 *
 * Two views: over the wire (what a client sees: GetValue through HTTP/2 to a
 * spawned `hexclave serve`, one call at a time) and in process (the
 * Authenticator alone, no network: the check's own cost, in ns). In both, the
 * three kinds are interleaved call by call, so drift on a shared machine
 * hits all three alike.
 */

/** The three kinds of token presented. */
export const TOKEN_KINDS = ["valid", "unknown id", "known id, wrong secret"] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

/** One kind's distribution, in µs. */
export interface TimingDistribution {
  readonly kind: TokenKind;
  readonly calls: number;
  readonly meanUs: number;
  readonly p10Us: number;
  readonly p50Us: number;
  readonly p90Us: number;
  readonly p99Us: number;
}

/** Two kinds compared: can the samples tell them apart? */
export interface TimingComparison {
  readonly a: TokenKind;
  readonly b: TokenKind;
  /** Kolmogorov–Smirnov statistic: the largest gap between the two distributions. */
  readonly ksD: number;
  /** Its asymptotic p-value: small means the samples come from different distributions. */
  readonly ksP: number;
  /** b's median minus a's, µs. */
  readonly medianDiffUs: number;
  /** Distinguishable at p < 0.01. */
  readonly distinguishable: boolean;
}

/** One view (over the wire, or in process). */
export interface TimingView {
  readonly distributions: readonly TimingDistribution[];
  readonly comparisons: readonly TimingComparison[];
  /** Calls whose outcome was not the expected one (valid → OK, else UNAUTHENTICATED). */
  readonly wrongOutcomes: number;
}

/** The auth-timing section. */
export interface AuthTiming {
  readonly callsPerKind: number;
  readonly wire: TimingView;
  readonly inProcess: TimingView;
}

/**
 * Runs both views with `calls` calls of each kind.
 *
 * @throws Error if the server cannot start or the store cannot be made.
 * @example
 * const timing = await measureAuthTiming(10_000);
 */
export async function measureAuthTiming(calls: number): Promise<AuthTiming> {
  process.stderr.write(`auth timing: ${calls} calls per kind over the wire\n`);
  const wire = await overTheWire(calls);
  process.stderr.write(`auth timing: ${calls} checks per kind in process\n`);
  const inProcess = await authenticatorAlone(calls);
  return { callsPerKind: calls, wire, inProcess };
}

/** The three tokens presented, made from one real token. */
function tokensFrom(valid: string): Record<TokenKind, string> {
  const parsed = parseAccessToken(valid);
  if (parsed === undefined) throw new Error("the bench's token is not an hxk_ token");
  const other = newAccessToken();
  const wrongSecret = randomBytes(32).toString("base64url");
  return {
    valid,
    // Well-formed, same length, an id no token has.
    "unknown id": other.token,
    // A real id, a secret of the right shape that is not its own.
    "known id, wrong secret": `hxk_${parsed.id}_${wrongSecret}`,
  };
}

async function overTheWire(calls: number): Promise<TimingView> {
  const server = await startHexclave();
  try {
    const store = await createBenchStore(server.address, server.adminToken, "auth");
    const space = await preload(store, 0, 1, 1);
    const tokens = tokensFrom(store.token);
    const body = grpcFrame(getValueBody(space, 0).message);
    const session = connect(`http://${server.address}`);
    await new Promise<void>((resolve, reject) => {
      session.once("connect", () => resolve());
      session.once("error", reject);
    });
    try {
      const call = (token: string): Promise<{ us: number; status: string }> =>
        new Promise((resolve, reject) => {
          const started = process.hrtime.bigint();
          const stream = session.request({
            [constants.HTTP2_HEADER_METHOD]: "POST",
            [constants.HTTP2_HEADER_PATH]: "/hexclave.v1.VaultService/GetValue",
            "content-type": "application/grpc",
            te: "trailers",
            authorization: `Bearer ${token}`,
          });
          let status = "";
          stream.on("response", (headers) => {
            status = String(headers["grpc-status"] ?? status);
          });
          stream.on("trailers", (trailers) => {
            status = String(trailers["grpc-status"] ?? status);
          });
          stream.on("data", () => {});
          stream.once("error", reject);
          stream.once("close", () =>
            resolve({ us: Number(process.hrtime.bigint() - started) / 1000, status }),
          );
          stream.end(body);
        });
      // Warm-up, then the measured calls, the three kinds interleaved call by call.
      for (let i = 0; i < 200; i++) await call(tokens[TOKEN_KINDS[i % 3] as TokenKind]);
      return await interleaved(calls, async (kind) => {
        const { us, status } = await call(tokens[kind]);
        // OK for the valid token, UNAUTHENTICATED (16) for the others.
        const expected = kind === "valid" ? "0" : "16";
        return { us, ok: status === expected };
      });
    } finally {
      session.close();
    }
  } finally {
    await server.stop();
  }
}

/**
 * The Authenticator alone, over a real SQLite storage holding one token:
 * `authenticate("Bearer …")` timed with the high-resolution clock.
 */
async function authenticatorAlone(calls: number): Promise<TimingView> {
  const dir = await mkdtemp(join(tmpdir(), "hexclave-bench-auth-"));
  const masterKey = randomBytes(32);
  const storage = await openStorage({
    dataDir: dir,
    masterKeys: [masterKey],
    server: serverIdentity(),
  });
  try {
    const vault = await openVault({ storage, masterKey, entryCacheBytes: 0 });
    try {
      const { token } = newAccessToken();
      if (!(await vault.adoptFirstAdminToken(token))) throw new Error("the token was not stored");
      const tokens = tokensFrom(token);
      const check = async (kind: TokenKind): Promise<{ us: number; ok: boolean }> => {
        const header = `Bearer ${tokens[kind]}`;
        const started = process.hrtime.bigint();
        let ok: boolean;
        try {
          await vault.authenticator.authenticate(header);
          ok = kind === "valid";
        } catch {
          ok = kind !== "valid";
        }
        return { us: Number(process.hrtime.bigint() - started) / 1000, ok };
      };
      for (let i = 0; i < 3_000; i++) await check(TOKEN_KINDS[i % 3] as TokenKind);
      return await interleaved(calls, check);
    } finally {
      await vault.close();
    }
  } finally {
    await storage.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** `calls` of each kind, one at a time, the kinds' order rotating call by call. */
async function interleaved(
  calls: number,
  one: (kind: TokenKind) => Promise<{ us: number; ok: boolean }>,
): Promise<TimingView> {
  const samples: Record<TokenKind, number[]> = {
    valid: [],
    "unknown id": [],
    "known id, wrong secret": [],
  };
  let wrongOutcomes = 0;
  for (let i = 0; i < calls; i++) {
    for (let k = 0; k < 3; k++) {
      const kind = TOKEN_KINDS[(i + k) % 3] as TokenKind;
      const { us, ok } = await one(kind);
      samples[kind].push(us);
      if (!ok) wrongOutcomes += 1;
    }
  }
  const distributions = TOKEN_KINDS.map((kind) => distribution(kind, samples[kind]));
  const pairs: [TokenKind, TokenKind][] = [
    ["unknown id", "known id, wrong secret"],
    ["valid", "unknown id"],
    ["valid", "known id, wrong secret"],
  ];
  return {
    distributions,
    comparisons: pairs.map(([a, b]) => compare(a, samples[a], b, samples[b])),
    wrongOutcomes,
  };
}

function distribution(kind: TokenKind, values: readonly number[]): TimingDistribution {
  const sorted = Float64Array.from(values).sort();
  const at = (p: number): number =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ??
    Number.NaN;
  return {
    kind,
    calls: sorted.length,
    meanUs: sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length),
    p10Us: at(10),
    p50Us: at(50),
    p90Us: at(90),
    p99Us: at(99),
  };
}

/**
 * Two-sample Kolmogorov–Smirnov test with the asymptotic p-value
 * (Q_KS(√(n·m/(n+m)) · D), Numerical Recipes §14.3).
 *
 * @throws never.
 * @example
 * compare("unknown id", a, "known id, wrong secret", b).distinguishable; // false if the check is constant-cost
 */
export function compare(
  a: TokenKind,
  as: readonly number[],
  b: TokenKind,
  bs: readonly number[],
): TimingComparison {
  const x = Float64Array.from(as).sort();
  const y = Float64Array.from(bs).sort();
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i] as number, y[j] as number);
    while (i < x.length && (x[i] as number) <= v) i++;
    while (j < y.length && (y[j] as number) <= v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  const n = (x.length * y.length) / (x.length + y.length);
  const lambda = (Math.sqrt(n) + 0.12 + 0.11 / Math.sqrt(n)) * d;
  let p = 0;
  for (let k = 1; k <= 100; k++) p += 2 * (-1) ** (k - 1) * Math.exp(-2 * k * k * lambda * lambda);
  const ksP = Math.min(1, Math.max(0, lambda < 0.2 ? 1 : p));
  const mid = (s: Float64Array): number => s[Math.floor((s.length - 1) / 2)] ?? Number.NaN;
  return { a, b, ksD: d, ksP, medianDiffUs: mid(y) - mid(x), distinguishable: ksP < 0.01 };
}
