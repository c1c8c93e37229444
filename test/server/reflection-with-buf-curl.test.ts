import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { fromBinary } from "@bufbuild/protobuf";
import { type FileDescriptorProto, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { credentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServerReflectionClient as ReflectionV1Client } from "../../gen/grpc/reflection/v1/reflection.js";
import { ServerReflectionClient as ReflectionV1alphaClient } from "../../gen/grpc/reflection/v1alpha/reflection.js";
import { type RawClients, rawClients } from "../support/grpc-clients.js";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { createStore } from "../support/vault-fixtures.js";

/**
 * Operators debug with `buf curl` and grpcurl and no .proto files: server
 * reflection must list the services, describe them with their comments, and
 * let an authenticated call through.
 */

const BUF = fileURLToPath(new URL("../../node_modules/.bin/buf", import.meta.url));
// Async on purpose: the server runs in this process and must keep answering while buf waits.
const run = promisify(execFile);

let t: TestServer;
let c: RawClients;

beforeAll(async () => {
  t = await startTestServer();
  c = rawClients(t.address);
  await createStore(c, t.adminToken, "curl-visible-store", { description: "seen by buf curl" });
});

afterAll(async () => {
  c?.close();
  await t?.close();
});

function bufCurl(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], {
    timeout: 30_000,
    env: { ...process.env, BUF_CACHE_DIR: `${t.dataDir}/buf-cache` },
  });
}

describe("buf curl over server reflection", () => {
  it.each(["grpc-v1", "grpc-v1alpha"])(
    "lists every service and method through %s reflection",
    async (protocol) => {
      const url = `http://${t.address}`;
      const services = await bufCurl(["--reflect-protocol", protocol, "--list-services", url]);
      const listed = services.stdout.trim().split("\n").sort();
      expect(listed).toEqual(
        expect.arrayContaining([
          "hexclave.v1.VaultService",
          "hexclave.v1.AdminService",
          "grpc.health.v1.Health",
          "grpc.reflection.v1.ServerReflection",
          "grpc.reflection.v1alpha.ServerReflection",
        ]),
      );
      const methods = await bufCurl(["--reflect-protocol", protocol, "--list-methods", url]);
      for (const method of [
        "hexclave.v1.VaultService/GetValue",
        "hexclave.v1.VaultService/ListEntries",
        "hexclave.v1.AdminService/ListStores",
        "hexclave.v1.AdminService/RevokeToken",
        "grpc.health.v1.Health/Check",
      ]) {
        expect(methods.stdout).toContain(method);
      }
    },
  );

  it("calls AdminService/ListStores with a bearer token and prints the store as JSON", async () => {
    const { stdout } = await bufCurl([
      "-H",
      `authorization: Bearer ${t.adminToken}`,
      "--data",
      "{}",
      `http://${t.address}/hexclave.v1.AdminService/ListStores`,
    ]);
    const body = JSON.parse(stdout) as { stores: { id: string; description: string }[] };
    expect(body.stores).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: "curl-visible-store", description: "seen by buf curl" }),
      ]),
    );
  });

  it("without a token the same call fails with unauthenticated", async () => {
    const failure = await bufCurl([
      "--data",
      "{}",
      `http://${t.address}/hexclave.v1.AdminService/ListStores`,
    ]).then(
      () => undefined,
      (e: { stderr: string; code: number }) => e,
    );
    expect(failure?.code).not.toBe(0);
    expect(failure?.stderr).toMatch(/unauthenticated/i);
  });
});

type ReflectionClient = InstanceType<typeof ReflectionV1Client>;

/** Asks one reflection question on a fresh stream; returns the descriptors answered. */
function fileContainingSymbol(
  client: ReflectionClient,
  symbol: string,
): Promise<FileDescriptorProto[]> {
  return new Promise((resolve, reject) => {
    const stream = client.serverReflectionInfo({ deadline: Date.now() + 20_000 });
    stream.on("data", (response) => {
      stream.end();
      if (response.errorResponse !== undefined) {
        reject(new Error(response.errorResponse.errorMessage));
        return;
      }
      resolve(
        (response.fileDescriptorResponse?.fileDescriptorProto ?? []).map((bytes: Buffer) =>
          fromBinary(FileDescriptorProtoSchema, bytes),
        ),
      );
    });
    stream.on("error", reject);
    stream.write({ host: "", fileContainingSymbol: symbol });
  });
}

/** The leading comment at a source_code_info path, or undefined. */
function commentAt(file: FileDescriptorProto, path: number[]): string | undefined {
  return file.sourceCodeInfo?.location.find(
    (l) => l.path.length === path.length && l.path.every((p, i) => p === path[i]),
  )?.leadingComments;
}

describe("the reflected schema carries the proto comments", () => {
  const clients: [string, () => ReflectionClient][] = [
    ["v1", () => new ReflectionV1Client(t.address, credentials.createInsecure())],
    [
      "v1alpha",
      () =>
        new ReflectionV1alphaClient(
          t.address,
          credentials.createInsecure(),
        ) as unknown as ReflectionClient,
    ],
  ];

  it.each(clients)("%s: file_containing_symbol hexclave.v1.VaultService", async (_, make) => {
    const client = make();
    try {
      const files = await fileContainingSymbol(client, "hexclave.v1.VaultService");
      const [file] = files;
      expect(file?.name).toBe("hexclave/v1/vault_service.proto");
      // Its imports come along, so a tool can resolve every message type.
      expect(files.map((f) => f.name)).toContain("hexclave/v1/types.proto");
      const service = file?.service.find((s) => s.name === "VaultService");
      const serviceIndex = file?.service.indexOf(service as never) ?? -1;
      expect(serviceIndex).toBeGreaterThanOrEqual(0);
      // FileDescriptorProto field 6 = service; ServiceDescriptorProto field 2 = method.
      expect(commentAt(file as FileDescriptorProto, [6, serviceIndex])).toContain("The data plane");
      const methods = service?.method.map((m) => m.name) ?? [];
      expect(methods).toEqual(
        expect.arrayContaining([
          "DescribeStore",
          "GetValue",
          "SetValue",
          "DeleteValue",
          "BatchGetValues",
          "ListEntries",
        ]),
      );
      for (const [i, name] of methods.entries()) {
        const comment = commentAt(file as FileDescriptorProto, [6, serviceIndex, 2, i]);
        expect(comment, `comment on ${name}`).toBeTruthy();
      }
      const getValue = methods.indexOf("GetValue");
      expect(commentAt(file as FileDescriptorProto, [6, serviceIndex, 2, getValue])).toContain(
        "Reads one entry",
      );
      const types = files.find((f) => f.name === "hexclave/v1/types.proto");
      const keyRef = types?.messageType.findIndex((m) => m.name === "KeyRef") ?? -1;
      // DescriptorProto field 2 = field; the key_id field's comment says its length.
      expect(commentAt(types as FileDescriptorProto, [4, keyRef, 2, 0])).toContain("32 bytes");
    } finally {
      client.close();
    }
  });

  it.each(clients)(
    "%s: an unknown symbol is a NOT_FOUND answer, not a broken stream",
    async (_, make) => {
      const client = make();
      try {
        await expect(fileContainingSymbol(client, "hexclave.v1.NoSuchService")).rejects.toThrow(
          /not found/,
        );
      } finally {
        client.close();
      }
    },
  );
});
