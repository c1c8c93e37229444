import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import type { ClientHttp2Session } from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AttackServer,
  freshServerConfig,
  type ServerOutput,
  startAttackServer,
} from "../../bench/attack/attack-server.js";
import { connectRaw, type Outcome, rawCall } from "../../bench/attack/raw-grpc-call.js";
import { grpcFrame } from "../../bench/grpc-frame.js";
import { ErrorInfo } from "../../gen/google/rpc/error_details.js";
import { Status } from "../../gen/google/rpc/status.js";
import { HealthCheckRequest, HealthService } from "../../gen/grpc/health/v1/health.js";
import {
  ServerReflectionRequest,
  ServerReflectionService,
} from "../../gen/grpc/reflection/v1/reflection.js";
import {
  AdminServiceService,
  CreateStoreRequest,
  CreateTokenRequest,
  DeleteStoreRequest,
  GetStoreRequest,
  ListStoresRequest,
  ListTokensRequest,
  RevokeTokenRequest,
} from "../../gen/hexclave/v1/admin_service.js";
import {
  BatchGetValuesRequest,
  DeleteValueRequest,
  DescribeStoreRequest,
  GetValueRequest,
  ListEntriesRequest,
  RegisterSecretRequest,
  RetireSecretRequest,
  SetValueRequest,
  VaultServiceService,
} from "../../gen/hexclave/v1/vault_service.js";
import { bearer, call, rawClients } from "../support/grpc-clients.js";
import {
  createStore,
  createToken,
  keyRef,
  newFingerprint,
  setValue,
} from "../support/vault-fixtures.js";

/**
 * Threat: a caller without access learning anything — that a store exists,
 * that a token id exists — or getting further than the documented refusal.
 * test/server/error-matrix.test.ts already asserts the code and reason of
 * most refusals with the generated client; this adds what it cannot see:
 *
 * - headers grpc-js clients refuse to send (a tab or a non-breaking space
 *   after "Bearer"), sent raw over node:http2;
 * - a revoked *scoped* token, and a token granted on a store that does not
 *   exist, on every RPC;
 * - byte-identical answers — status, grpc-message, grpc-status-details-bin
 *   and every other header but `date` and `x-request-id` — for the same store id while it does
 *   not exist, exists, and has been deleted, for every caller with no access
 *   to it; and for an unknown token id and a known id with a wrong secret;
 * - the positive control: the same requests with access get past the check.
 */

const PROBE = "auth-probe";
const OTHER = "auth-other";
const GHOST = "auth-ghost";
const PHASES = ["missing", "existing", "deleted"] as const;
type Phase = (typeof PHASES)[number];
type Access = "read" | "write" | "admin";

/** One RPC, with a request naming the probe store (or no store). */
interface Rpc {
  readonly name: string;
  readonly path: string;
  readonly access: Access;
  readonly storeScoped: boolean;
  request(phase: Phase): Uint8Array;
}

const fp0 = newFingerprint();
const key0 = keyRef(fp0);
const fixedFingerprint = newFingerprint();
/** Ids of tokens RevokeToken names: one for refused callers, one per phase for the admin. */
const revokeIds = { refused: "", byPhase: {} as Record<Phase, string> };

const RPCS: readonly Rpc[] = [
  {
    name: "DescribeStore",
    path: VaultServiceService.describeStore.path,
    access: "read",
    storeScoped: true,
    request: () => DescribeStoreRequest.encode({ storeId: PROBE }).finish(),
  },
  {
    name: "GetValue",
    path: VaultServiceService.getValue.path,
    access: "read",
    storeScoped: true,
    request: () => GetValueRequest.encode({ storeId: PROBE, key: key0, previousKeys: [] }).finish(),
  },
  {
    name: "SetValue",
    path: VaultServiceService.setValue.path,
    access: "write",
    storeScoped: true,
    request: () =>
      SetValueRequest.encode({
        storeId: PROBE,
        key: key0,
        sealedValue: Buffer.from("v"),
        previousKeys: [],
      }).finish(),
  },
  {
    name: "DeleteValue",
    path: VaultServiceService.deleteValue.path,
    access: "write",
    storeScoped: true,
    request: () =>
      DeleteValueRequest.encode({
        storeId: PROBE,
        key: keyRef(fp0, Buffer.alloc(32, 9)),
        previousKeys: [],
      }).finish(),
  },
  {
    name: "BatchGetValues",
    path: VaultServiceService.batchGetValues.path,
    access: "read",
    storeScoped: true,
    request: () => BatchGetValuesRequest.encode({ storeId: PROBE, keys: [key0] }).finish(),
  },
  {
    name: "ListEntries",
    path: VaultServiceService.listEntries.path,
    access: "read",
    storeScoped: true,
    request: () =>
      ListEntriesRequest.encode({
        storeId: PROBE,
        secretFingerprints: [],
        startAfterKeyId: Buffer.alloc(0),
        pageSize: 0n,
      }).finish(),
  },
  {
    name: "RegisterSecret",
    path: VaultServiceService.registerSecret.path,
    access: "write",
    storeScoped: true,
    request: () =>
      RegisterSecretRequest.encode({
        storeId: PROBE,
        secretFingerprint: fixedFingerprint,
        knownSecretFingerprint: fp0,
      }).finish(),
  },
  {
    name: "RetireSecret",
    path: VaultServiceService.retireSecret.path,
    access: "write",
    storeScoped: true,
    request: () =>
      RetireSecretRequest.encode({
        storeId: PROBE,
        secretFingerprint: Buffer.alloc(8, 7),
      }).finish(),
  },
  {
    name: "CreateStore",
    path: AdminServiceService.createStore.path,
    access: "admin",
    storeScoped: true,
    request: () => CreateStoreRequest.encode({ storeId: PROBE, description: "" }).finish(),
  },
  {
    name: "GetStore",
    path: AdminServiceService.getStore.path,
    access: "admin",
    storeScoped: true,
    request: () => GetStoreRequest.encode({ storeId: PROBE }).finish(),
  },
  {
    name: "ListStores",
    path: AdminServiceService.listStores.path,
    access: "admin",
    storeScoped: false,
    request: () => ListStoresRequest.encode({}).finish(),
  },
  {
    name: "DeleteStore",
    path: AdminServiceService.deleteStore.path,
    access: "admin",
    storeScoped: true,
    request: () => DeleteStoreRequest.encode({ storeId: PROBE }).finish(),
  },
  {
    name: "CreateToken",
    path: AdminServiceService.createToken.path,
    access: "admin",
    storeScoped: true,
    request: () =>
      CreateTokenRequest.encode({
        name: "matrix",
        admin: false,
        grants: [{ storeId: PROBE, read: true, write: false }],
      }).finish(),
  },
  {
    name: "ListTokens",
    path: AdminServiceService.listTokens.path,
    access: "admin",
    storeScoped: false,
    request: () => ListTokensRequest.encode({ includeRevoked: false }).finish(),
  },
  {
    name: "RevokeToken",
    path: AdminServiceService.revokeToken.path,
    access: "admin",
    storeScoped: false,
    request: () => RevokeTokenRequest.encode({ tokenId: revokeIds.refused }).finish(),
  },
];

/** What a cell must get: a refusal (code and ErrorInfo reason), or past the check. */
type Expect = { readonly code: number; readonly reason: string } | "allowed";
const unauthenticated = (reason: string): Expect => ({ code: 16, reason });
const DENIED: Expect = { code: 7, reason: "PERMISSION_DENIED" };

/** The tokens of the run, made in beforeAll. */
const tokens = {
  admin: "",
  readOnly: "",
  readOnlyId: "",
  writeOnly: "",
  revokedScoped: "",
  foreign: "",
  ghost: "",
};

/**
 * The matrix's rows: who calls, with which `authorization` header, and what
 * every RPC must answer. `noAccess` rows have no access to the probe store,
 * so their answers must not depend on whether it exists.
 */
const CALLERS: readonly {
  readonly name: string;
  readonly header: () => string | undefined;
  readonly expect: (rpc: Rpc) => Expect;
  readonly noAccess: (rpc: Rpc) => boolean;
}[] = [
  {
    name: "no token",
    header: () => undefined,
    expect: () => unauthenticated("TOKEN_MISSING"),
    noAccess: () => true,
  },
  {
    name: '"Bearer" alone',
    header: () => "Bearer",
    expect: () => unauthenticated("TOKEN_INVALID"),
    noAccess: () => true,
  },
  {
    name: "wrong scheme (Basic)",
    header: () => `Basic ${tokens.admin}`,
    expect: () => unauthenticated("TOKEN_INVALID"),
    noAccess: () => true,
  },
  // RFC 6750: credentials = "Bearer" 1*SP b64token. A tab or a no-break space is not that.
  {
    name: "tab separator",
    header: () => `Bearer\t${tokens.admin}`,
    expect: () => unauthenticated("TOKEN_INVALID"),
    noAccess: () => true,
  },
  {
    name: "no-break space separator",
    header: () => `Bearer\u00a0${tokens.admin}`,
    expect: () => unauthenticated("TOKEN_INVALID"),
    noAccess: () => true,
  },
  {
    name: "unknown token id",
    header: () => `Bearer hxk_${"0".repeat(15)}1_${"A".repeat(43)}`,
    expect: () => unauthenticated("TOKEN_INVALID"),
    noAccess: () => true,
  },
  {
    name: "known id, wrong secret",
    header: () => `Bearer hxk_${tokens.readOnlyId}_${"A".repeat(43)}`,
    expect: () => unauthenticated("TOKEN_INVALID"),
    noAccess: () => true,
  },
  {
    name: "revoked read+write token",
    header: () => `Bearer ${tokens.revokedScoped}`,
    expect: () => unauthenticated("TOKEN_REVOKED"),
    noAccess: () => true,
  },
  {
    name: "read-only token",
    header: () => `Bearer ${tokens.readOnly}`,
    expect: (rpc) => (rpc.access === "read" ? "allowed" : DENIED),
    noAccess: (rpc) => rpc.access === "admin",
  },
  {
    name: "write-only token",
    header: () => `Bearer ${tokens.writeOnly}`,
    expect: (rpc) => (rpc.access === "write" ? "allowed" : DENIED),
    noAccess: (rpc) => rpc.access === "admin",
  },
  {
    name: "token for another store, which exists",
    header: () => `Bearer ${tokens.foreign}`,
    expect: () => DENIED,
    noAccess: () => true,
  },
  {
    name: "token for a store that does not exist",
    header: () => `Bearer ${tokens.ghost}`,
    expect: () => DENIED,
    noAccess: () => true,
  },
  {
    name: "admin token",
    header: () => `Bearer ${tokens.admin}`,
    expect: () => "allowed",
    noAccess: () => false,
  },
];

/**
 * An answer as bytes: everything but the date and the request id (both differ
 * on every call by design and say nothing about the store), in a stable order.
 */
interface Answer {
  readonly outcome: Outcome;
  readonly bytes: string;
}

let server: AttackServer;
let dataDir: string;
const output: ServerOutput = { stdout: [], stderr: [] };
const answers = new Map<string, Answer>();
const cell = (caller: string, rpc: string, phase: Phase) => `${caller} | ${rpc} | ${phase}`;

function answerBytes(outcome: Outcome): string {
  const strip = (h: Record<string, unknown>) =>
    Object.entries(h)
      .filter(([name]) => name !== "date" && name !== "x-request-id")
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, value]) => `${name}: ${String(value)}`);
  return [
    outcome.kind,
    ...strip(outcome.headers),
    "--",
    ...strip(outcome.trailers),
    outcome.body.toString("hex"),
  ].join("\n");
}

function reasonOf(outcome: Outcome): string | undefined {
  const raw =
    outcome.trailers["grpc-status-details-bin"] ?? outcome.headers["grpc-status-details-bin"];
  if (typeof raw !== "string") return undefined;
  const detail = Status.decode(Buffer.from(raw, "base64")).details.find((d) =>
    d.typeUrl.endsWith("ErrorInfo"),
  );
  return detail === undefined ? undefined : ErrorInfo.decode(detail.value).reason;
}

async function runPhase(session: ClientHttp2Session, phase: Phase): Promise<void> {
  for (const caller of CALLERS) {
    for (const rpc of RPCS) {
      // The admin's own CreateStore and DeleteStore are the phase changes, made below.
      if (
        caller.name === "admin token" &&
        (rpc.name === "CreateStore" || rpc.name === "DeleteStore")
      )
        continue;
      const message =
        caller.name === "admin token" && rpc.name === "RevokeToken"
          ? RevokeTokenRequest.encode({ tokenId: revokeIds.byPhase[phase] }).finish()
          : rpc.request(phase);
      const header = caller.header();
      const outcome = await rawCall(session, {
        path: rpc.path,
        headers: header === undefined ? {} : { authorization: header },
        chunks: [grpcFrame(message)],
        timeoutMs: 20_000,
      });
      answers.set(cell(caller.name, rpc.name, phase), { outcome, bytes: answerBytes(outcome) });
    }
  }
}

beforeAll(async () => {
  const config = await freshServerConfig("hexclave-auth-");
  dataDir = config.dataDir;
  server = await startAttackServer(config, output);
  const c = rawClients(server.address);
  const admin = config.adminToken;
  try {
    await createStore(c, admin, OTHER);
    tokens.admin = (await createToken(c, admin, "admin", "matrix-admin")).secret;
    const readOnly = await createToken(c, admin, [{ storeId: PROBE, read: true, write: false }]);
    tokens.readOnly = readOnly.secret;
    tokens.readOnlyId = readOnly.id;
    tokens.writeOnly = (
      await createToken(c, admin, [{ storeId: PROBE, read: false, write: true }])
    ).secret;
    const revoked = await createToken(c, admin, [{ storeId: PROBE, read: true, write: true }]);
    await call(c.admin, c.admin.revokeToken, { tokenId: revoked.id }, bearer(admin));
    tokens.revokedScoped = revoked.secret;
    tokens.foreign = (
      await createToken(c, admin, [{ storeId: OTHER, read: true, write: true }])
    ).secret;
    tokens.ghost = (
      await createToken(c, admin, [{ storeId: GHOST, read: true, write: true }])
    ).secret;
    revokeIds.refused = (await createToken(c, admin, "admin", "never-revoked")).id;
    for (const phase of PHASES)
      revokeIds.byPhase[phase] = (await createToken(c, admin, "admin", `revoke-${phase}`)).id;

    const session = connectRaw(server.address);
    try {
      await runPhase(session, "missing");
      await createStore(c, admin, PROBE);
      await setValue(c, admin, PROBE, key0, Buffer.from("the probe store's entry"));
      await runPhase(session, "existing");
      await call(c.admin, c.admin.deleteStore, { storeId: PROBE }, bearer(admin));
      await runPhase(session, "deleted");
    } finally {
      session.destroy();
    }
  } finally {
    c.close();
  }
}, 60_000);

afterAll(async () => {
  if (server?.alive()) await server.stop("SIGKILL");
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

const rows = CALLERS.flatMap((caller) =>
  RPCS.map((rpc) => ({ caller: caller.name, rpc: rpc.name })),
);

describe("every RPC × every caller gets the documented answer", () => {
  it.each(rows)("$caller → $rpc", ({ caller: callerName, rpc: rpcName }) => {
    const caller = CALLERS.find((c) => c.name === callerName)!;
    const rpc = RPCS.find((r) => r.name === rpcName)!;
    const expected = caller.expect(rpc);
    for (const phase of PHASES) {
      const answer = answers.get(cell(callerName, rpcName, phase));
      if (answer === undefined) continue; // the admin's phase changes
      const { outcome } = answer;
      const seen = {
        phase,
        code: outcome.grpcStatus,
        reason: reasonOf(outcome),
        message: outcome.grpcMessage,
      };
      if (expected !== "allowed") {
        expect(seen).toEqual({
          phase,
          code: expected.code,
          reason: expected.reason,
          message: seen.message,
        });
      } else if (phase !== "existing" && rpc.storeScoped && rpc.name !== "CreateToken") {
        expect(seen).toEqual({ phase, code: 5, reason: "STORE_NOT_FOUND", message: seen.message });
      } else {
        // Past authentication and authorisation: whatever the call itself says, not a refusal of the caller.
        expect([7, 16, 13, 2], JSON.stringify(seen)).not.toContain(outcome.grpcStatus);
        expect(outcome.kind).toBe("status");
      }
    }
  });
});

describe("a caller with no access learns nothing about the store", () => {
  const noAccessRows = rows.filter(({ caller, rpc }) =>
    CALLERS.find((c) => c.name === caller)!.noAccess(RPCS.find((r) => r.name === rpc)!),
  );
  it.each(noAccessRows)(
    "$caller → $rpc: byte-identical while the store is missing, exists, and after it is deleted",
    ({ caller, rpc }) => {
      const [missing, existing, deleted] = PHASES.map(
        (phase) => answers.get(cell(caller, rpc, phase))?.bytes,
      );
      expect(missing).toBeDefined();
      expect(existing, "existing vs missing").toBe(missing);
      expect(deleted, "deleted vs missing").toBe(missing);
    },
  );
});

describe("a caller learns nothing about which token ids exist", () => {
  it.each(RPCS.map((rpc) => ({ rpc: rpc.name })))(
    "$rpc: an unknown token id and a known id with a wrong secret get byte-identical answers",
    ({ rpc }) => {
      for (const phase of PHASES) {
        expect(answers.get(cell("known id, wrong secret", rpc, phase))?.bytes).toBe(
          answers.get(cell("unknown token id", rpc, phase))?.bytes,
        );
      }
    },
  );
});

describe("what the refusals must not do", () => {
  it("no answer echoes a presented credential", () => {
    for (const [name, { bytes }] of answers) {
      if (name.includes("CreateToken")) continue; // answers a new token, by design
      for (const secret of [
        tokens.admin,
        tokens.readOnly,
        tokens.writeOnly,
        tokens.revokedScoped,
        tokens.foreign,
        tokens.ghost,
      ]) {
        expect(bytes.includes(secret), `${name} echoes a token`).toBe(false);
      }
    }
  });

  it("no server log line (stdout or stderr) holds a presented credential", () => {
    const secrets = [
      tokens.admin,
      tokens.readOnly,
      tokens.writeOnly,
      tokens.revokedScoped,
      tokens.foreign,
      tokens.ghost,
    ];
    const leaking = [...output.stdout, ...output.stderr].filter((line) =>
      secrets.some((s) => line.includes(s)),
    );
    const masked = leaking
      .slice(0, 3)
      .map((l) => secrets.reduce((t, s) => t.replaceAll(s, "<token>"), l).slice(0, 200));
    expect(leaking.length, masked.join("\n")).toBe(0);
  });

  it("health and reflection answer anyone: no token, a bad token (they are public by design)", async () => {
    const session = connectRaw(server.address);
    try {
      for (const header of [
        undefined,
        "Bearer",
        `Bearer hxk_${randomBytes(8).toString("hex")}_x`,
      ]) {
        const headers = header === undefined ? {} : { authorization: header };
        const health = await rawCall(session, {
          path: HealthService.check.path,
          headers,
          chunks: [grpcFrame(HealthCheckRequest.encode({ service: "" }).finish())],
          timeoutMs: 10_000,
        });
        expect(health.grpcStatus).toBe(0);
        const reflection = await rawCall(session, {
          path: ServerReflectionService.serverReflectionInfo.path,
          headers,
          chunks: [
            grpcFrame(ServerReflectionRequest.encode({ host: "", listServices: "" }).finish()),
          ],
          timeoutMs: 10_000,
        });
        expect(reflection.grpcStatus).toBe(0);
      }
    } finally {
      session.destroy();
    }
  });
});
