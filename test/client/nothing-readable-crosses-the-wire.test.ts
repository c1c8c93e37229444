import { afterAll, beforeAll, expect, it } from "vitest";
import { type ClientFixture, startClientFixture } from "./support/client-fixture.js";
import { grpcMessages } from "./support/grpc-frames.js";
import {
  exerciseStore,
  type KnownPlaintext,
  knownKeyId,
  knownPlaintext,
} from "./support/known-plaintext.js";
import { findNeedles } from "./support/plaintext-needles.js";
import { type RecordingProxy, startRecordingProxy } from "./support/recording-proxy.js";

/**
 * Promise 1: values, key names and the secret never cross the wire. Every
 * byte between client and server is recorded by a TCP proxy while the client
 * writes, reads, lists, rotates and deletes known plaintexts.
 */

let f: ClientFixture;
let proxy: RecordingProxy;
let known: KnownPlaintext;

beforeAll(async () => {
  f = await startClientFixture();
  await f.createStore("wire");
  proxy = await startRecordingProxy(f.server.address);
  known = knownPlaintext();
  const client = f.client({ address: proxy.address });
  await exerciseStore(await client.getDataVaultStore("wire"), known);
  client.close();
});
afterAll(async () => {
  await proxy.close();
  await f.close();
});

it("records real, uncompressed gRPC traffic (the capture is meaningful)", async () => {
  const messages = proxy
    .connections()
    .flatMap((c) => [
      ...grpcMessages(c.up, { fromClient: true }),
      ...grpcMessages(c.down, { fromClient: false }),
    ]);
  expect(messages.length).toBeGreaterThan(20);
  expect(messages.filter((m) => m.compressed)).toEqual([]);

  // The key id of a known key under the passphrase is on the wire as plain protobuf bytes.
  const keyId = await knownKeyId(f, known, "wire", known.passphrase);
  expect(proxy.clientToServer().includes(keyId)).toBe(true);
  expect(proxy.serverToClient().includes(keyId)).toBe(true);
});

it("sends no value, key name or secret, in any encoding, from client to server", () => {
  expect(findNeedles(proxy.clientToServer(), known.needles)).toEqual([]);
});

it("receives no value, key name or secret, in any encoding, from server to client", () => {
  expect(findNeedles(proxy.serverToClient(), known.needles)).toEqual([]);
});

it("would find a leaked value: raw, embedded in base64 at any offset, or hex", () => {
  const [key, value] = [...known.entries][1] as [string, string];
  for (const prefix of ["", "x", "xy", "xyz"]) {
    const leak = Buffer.from(`${prefix}${value}`);
    const forms: [string, Buffer][] = [
      ["raw", leak],
      [`base64@${prefix.length % 3}`, Buffer.from(leak.toString("base64"))],
      ["hex", Buffer.from(leak.toString("hex"))],
    ];
    for (const [label, form] of forms) {
      const haystack = Buffer.concat([proxy.clientToServer().subarray(0, 100), form]);
      expect(findNeedles(haystack, known.needles)).toContain(`value of ${key} ${label}`);
    }
  }
});
