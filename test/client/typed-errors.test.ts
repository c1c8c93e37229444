import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type DataVaultStore,
  generateSecret,
  HexclaveClient,
  HexclaveError,
} from "../../src/client/index.js";
import { errorFromStatus } from "../../src/client/status-to-error.js";
import { bearer, call } from "../support/grpc-clients.js";
import { type ClientFixture, startClientFixture } from "./support/client-fixture.js";
import { type RecordingProxy, startRecordingProxy } from "./support/recording-proxy.js";

/**
 * Every failure reaches the caller as a HexclaveError subclass with a stable
 * code and a message that says what to do; nothing else ever escapes.
 */

const secret = generateSecret();
let f: ClientFixture;
let store: DataVaultStore;

beforeAll(async () => {
  f = await startClientFixture();
  await f.createStore("errors");
  await f.createStore("tiny", { maxValueBytes: 1024 });
  store = await f.client().getDataVaultStore("errors");
  await store.setValue("k", "v", { secret });
});
afterAll(() => f.close());

async function failure(attempt: Promise<unknown>): Promise<HexclaveError> {
  const error = await attempt.then(
    (value) => ({ resolvedWith: value }),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HexclaveError);
  return error as HexclaveError;
}

describe("typed errors from the server, one class and code each", () => {
  it("StoreNotFoundError for a store that does not exist", async () => {
    const e = await failure(f.client().getDataVaultStore("no-such-store"));
    expect(e).toMatchObject({ name: "StoreNotFoundError", code: "STORE_NOT_FOUND" });
    expect(e.message).toContain("no-such-store");
  });

  it("UnauthenticatedError for an unknown, a malformed and a revoked token", async () => {
    const unknown = `hxk_${"0".repeat(16)}_${"A".repeat(43)}`;
    for (const token of [unknown, "not-a-token"]) {
      const e = await failure(f.client({ token }).getDataVaultStore("errors"));
      expect(e).toMatchObject({ name: "UnauthenticatedError", code: "UNAUTHENTICATED" });
      expect(e.message).toContain("HEXCLAVE_TOKEN");
    }
    const token = await f.createToken([{ storeId: "errors", read: true, write: true }]);
    const revocable = await f.client({ token }).getDataVaultStore("errors");
    const { tokens } = await call(
      f.raw.admin,
      f.raw.admin.listTokens,
      { includeRevoked: false },
      bearer(f.server.adminToken),
    );
    const id = tokens.find((t) => token.startsWith(`hxk_${t.id}_`))?.id as string;
    await call(f.raw.admin, f.raw.admin.revokeToken, { tokenId: id }, bearer(f.server.adminToken));
    const e = await failure(revocable.getValue("k", { secret }));
    expect(e).toMatchObject({ name: "UnauthenticatedError", code: "UNAUTHENTICATED" });
  });

  it("PermissionDeniedError for a token without access", async () => {
    const token = await f.createToken([{ storeId: "tiny", read: true, write: true }]);
    const e = await failure(f.client({ token }).getDataVaultStore("errors"));
    expect(e).toMatchObject({ name: "PermissionDeniedError", code: "PERMISSION_DENIED" });
  });

  it("VersionConflictError with the current version", async () => {
    const e = await failure(store.setValue("k", "x", { secret, ifVersion: 5 }));
    expect(e).toMatchObject({ name: "VersionConflictError", code: "VERSION_CONFLICT" });
    expect((e as unknown as { currentVersion: number }).currentVersion).toBe(1);
  });

  it("UnknownSecretError for a secret the store has never seen", async () => {
    const e = await failure(store.getValue("k", { secret: generateSecret() }));
    expect(e).toMatchObject({ name: "UnknownSecretError", code: "UNKNOWN_SECRET" });
  });

  it("ValueTooLargeError before sending, with the sizes and what to do", async () => {
    const tiny = await f.client().getDataVaultStore("tiny");
    expect(tiny.maxValueBytes).toBe(1024);
    await tiny.setValue("fits", "x".repeat(100), { secret });
    const e = await failure(tiny.setValue("too-big", "x".repeat(1000), { secret }));
    expect(e).toMatchObject({ name: "ValueTooLargeError", code: "VALUE_TOO_LARGE" });
    expect(e.message).toMatch(/would be \d+ bytes .* at most 1024/);
    expect(e.message).toContain("max_value_bytes");
  });

  it("maps the server's own VALUE_TOO_LARGE, SECRET_IN_USE and TOO_MANY_KEYS the same way", async () => {
    const { store: described } = await call(
      f.raw.vault,
      f.raw.vault.describeStore,
      { storeId: "tiny" },
      bearer(f.server.adminToken),
    );
    const fp = described?.secrets[0]?.fingerprint as Buffer;
    const key = { keyId: Buffer.alloc(32, 7), secretFingerprint: fp };
    const admin = bearer(f.server.adminToken);
    const v = f.raw.vault;
    const cases: [() => Promise<unknown>, string, string][] = [
      [
        () =>
          call(
            v,
            v.setValue,
            { storeId: "tiny", key, sealedValue: Buffer.alloc(1100), previousKeys: [] },
            admin,
          ),
        "ValueTooLargeError",
        "VALUE_TOO_LARGE",
      ],
      [
        () => call(v, v.retireSecret, { storeId: "tiny", secretFingerprint: fp }, admin),
        "HexclaveError",
        "SECRET_IN_USE",
      ],
      [
        () => call(v, v.batchGetValues, { storeId: "tiny", keys: Array(1001).fill(key) }, admin),
        "HexclaveError",
        "INVALID_ARGUMENT",
      ],
    ];
    for (const [attempt, name, code] of cases) {
      const mapped = await attempt().then(
        () => undefined,
        (e) => errorFromStatus(e),
      );
      expect(mapped).toMatchObject({ name, code });
    }
  });
});

describe("typed errors raised by the client itself", () => {
  it("WeakSecretError for a short or low-entropy secret, saying how to make a good one", async () => {
    for (const weak of [
      "",
      "hunter2",
      "fifteen chars!!",
      "aaaaaaaaaaaaaaaaaaaa",
      "Summer24!Summer24!",
    ]) {
      const e = await failure(store.getValue("k", { secret: weak }));
      expect(e).toMatchObject({ name: "WeakSecretError", code: "WEAK_SECRET" });
      expect(e.message).toContain("hexclave secret generate");
      expect(e.message).not.toContain(weak || "\u0000");
    }
    const e = await failure(store.setValue("k", "v", { secret: "x", previousSecrets: [secret] }));
    expect(e.code).toBe("WEAK_SECRET");
  });

  it("INVALID_ARGUMENT for a secret with a trailing newline, instead of silently other keys", async () => {
    // A secret manager that appends "\n" would otherwise turn this hxs_ secret into a passphrase.
    const e = await failure(store.getValue("k", { secret: `${secret}\n` }));
    expect(e).toMatchObject({ name: "HexclaveError", code: "INVALID_ARGUMENT" });
    expect(e.message).toContain('"secret" ends with whitespace');
    expect(e.message).not.toContain(secret);
  });

  it("INVALID_ARGUMENT, naming the argument, for malformed input to every method", async () => {
    const cases: [() => Promise<unknown>, string][] = [
      [() => store.getValue("", { secret }), '"key" must be a non-empty string'],
      [
        () => store.getValue(42 as unknown as string, { secret }),
        '"key" must be a non-empty string',
      ],
      [() => store.getValue("k", undefined as unknown as { secret: string }), "options argument"],
      [
        () => store.getValue("k", { secret: undefined as unknown as string }),
        '"secret" must be a string',
      ],
      [
        () => store.getValue("k", { secret, as: "json" as "text" }),
        '"as" must be "text" or "bytes"',
      ],
      [() => store.setValue("k", 42 as unknown as string, { secret }), '"value" must be a string'],
      [() => store.setValue("k", "v", { secret, ifVersion: -1 }), '"ifVersion" must be an integer'],
      [() => store.deleteValue("k", { secret, ifVersion: 1.5 }), '"ifVersion" must be an integer'],
      [
        () => store.getValue("k", { secret, previousSecrets: Array(17).fill(secret) }),
        '"previousSecrets" may hold at most 16',
      ],
      [() => store.getValues("k" as unknown as string[], { secret }), '"keys" must be an array'],
      [() => store.getValues(["a", ""], { secret }), '"keys[1]" must be a non-empty string'],
      [() => store.getValue("\ud800", { secret }), "lone surrogate"],
      [() => store.rotateSecret({ from: secret, to: secret }), "same secret"],
      [
        () => store.rotateSecret({ from: secret, to: generateSecret(), concurrency: 0 }),
        "concurrency",
      ],
      [() => f.client().getDataVaultStore("Not A Store"), '"storeId" must be 1 to 63 characters'],
    ];
    for (const [attempt, message] of cases) {
      const e = await failure(attempt());
      expect(e.code).toBe("INVALID_ARGUMENT");
      expect(e.message).toContain(message);
      expect(e.message).not.toContain(secret);
    }
    const listing = failure(
      (async () => {
        for await (const _ of store.entries({ secret, pageSize: 5000 })) {
          // refused before listing
        }
      })(),
    );
    expect((await listing).message).toContain('"pageSize" must be an integer from 1 to 1000');
  });

  it("refuses bad client options synchronously with a HexclaveError", () => {
    const cases: [unknown, string][] = [
      [undefined, "options argument"],
      [{ token: "t" }, '"address" must be a non-empty string'],
      [{ address: "127.0.0.1:1" }, '"token" must be a non-empty string of printable ASCII'],
      [{ address: "127.0.0.1:1", token: "a\nb" }, "control characters"],
      [{ address: "127.0.0.1:1", token: "t", timeoutMs: 0 }, '"timeoutMs" must be an integer'],
      [{ address: "127.0.0.1:1", token: "t", credentials: {} }, 'check "address", "credentials"'],
    ];
    for (const [options, message] of cases) {
      const e = (() => {
        try {
          new HexclaveClient(options as ConstructorParameters<typeof HexclaveClient>[0]);
        } catch (error) {
          return error;
        }
        return undefined;
      })();
      expect(e).toBeInstanceOf(HexclaveError);
      expect((e as HexclaveError).message).toContain(message);
    }
  });
});

describe("connection failures", () => {
  let proxy: RecordingProxy;
  beforeAll(async () => {
    proxy = await startRecordingProxy(f.server.address);
  });
  afterAll(() => proxy.close());

  it("UnavailableError when nothing listens at the address", async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const { port: free } = probe.address() as { port: number };
        probe.close(() => resolve(free));
      });
    });
    const address = `127.0.0.1:${port}`;
    const failFast = f.client({ address, waitForReady: false, retry: false });
    const e = await failure(failFast.getDataVaultStore("errors"));
    expect(e).toMatchObject({ name: "UnavailableError", code: "UNAVAILABLE" });
    expect(e.message).toBe(
      `cannot reach the Hexclave server at ${address} (connection refused): check the address and that the server is running`,
    );
    // Waiting for a connection (the default), the deadline ends it: still UNAVAILABLE, not a slow server.
    const waiting = f.client({ address, timeoutMs: 300 });
    const late = await failure(waiting.getDataVaultStore("errors"));
    expect(late).toMatchObject({ name: "UnavailableError", code: "UNAVAILABLE" });
    expect(late.message).toContain(`at ${address}: no connection within 300 ms`);
  });

  it("DEADLINE_EXCEEDED when the server does not answer within timeoutMs", async () => {
    const client = f.client({ address: proxy.address, timeoutMs: 300 });
    const slow = await client.getDataVaultStore("errors");
    proxy.holdReplies();
    const started = Date.now();
    const e = await failure(slow.getValue("k", { secret }));
    expect(e.code).toBe("DEADLINE_EXCEEDED");
    expect(e.message).toContain("timeoutMs");
    expect(Date.now() - started).toBeLessThan(5_000);
    const listing = failure(
      (async () => {
        for await (const _ of slow.entries({ secret })) {
          // no page ever arrives
        }
      })(),
    );
    expect((await listing).code).toBe("DEADLINE_EXCEEDED");
  });

  it("CLIENT_CLOSED for calls after close(), on the client and on its stores", async () => {
    const client = f.client();
    const open = await client.getDataVaultStore("errors");
    client.close();
    client.close();
    for (const attempt of [
      open.getValue("k", { secret }),
      open.setValue("k", "v", { secret }),
      open.getValues(["k"], { secret }),
      client.getDataVaultStore("errors"),
    ]) {
      const e = await failure(attempt);
      expect(e.code).toBe("CLIENT_CLOSED");
      expect(e.message).toContain("create a new one");
    }
    expect(await store.getValue("k", { secret })).toBe("v");
  });
});
