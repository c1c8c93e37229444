import { type MessageVector, type SealingVectors, sequence } from "./sealing-vectors.js";

/**
 * The fixed inputs of test/vectors/sealing-v1.json, random parts included. Output fields are
 * left empty here; computeVectors fills them in.
 */

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

/** 2026-01-01T00:00:00.000Z, then a few milliseconds apart per message. */
const JAN_2026 = 1_767_225_600_000;

function message(
  comment: string,
  keyName: string,
  value: string | Uint8Array,
  saltStart: number,
  writtenAtMs: number,
): MessageVector {
  const text = typeof value === "string";
  return {
    comment,
    keyName,
    kind: text ? "text" : "bytes",
    ...(text ? { valueText: value } : {}),
    valueHex: hex(text ? Buffer.from(value, "utf8") : value),
    writtenAtMs,
    messageSaltHex: hex(sequence(saltStart, 32)),
    keyIdHex: "",
    encKeyHex: "",
    nonceHex: "",
    commitmentHex: "",
    aadHex: "",
    frameHex: "",
    envelopeHex: "",
  };
}

const GENERATED = `hxs_${sequence(0x40, 32).toString("base64url")}`;

/**
 * The vector inputs.
 *
 * @throws never.
 * @example
 * ```ts
 * writeFileSync(path, JSON.stringify(computeVectors(vectorInputs()), null, 2));
 * ```
 */
export function vectorInputs(): SealingVectors {
  const empty = { rootHex: "", kIdHex: "", kSealHex: "", fingerprintHex: "" };
  return {
    description:
      "Hexclave sealed format v1 and at-rest layer (docs/sealing.md). Hex is lowercase; every random input is fixed here. Recompute every *Hex output from the inputs and compare; then open each envelope and compare keyName/kind/value.",
    stores: [
      {
        comment: "ordinary secret: root = scrypt(N=2^17, r=8, p=1)",
        secret: "correct horse battery staple",
        generated: false,
        storeId: "oauth-tokens",
        storeSaltHex: hex(sequence(0x00, 32)),
        ...empty,
        messages: [
          message(
            "text: a 40-character GitHub-style token → 256 bucket, the same envelope length as the 100-character Google token below",
            "gh:12345",
            "gho_16C7e42F292c6912E7710c838347Ae178B4a",
            0xa0,
            JAN_2026,
          ),
          message(
            "text: empty value; written at Unix time 0",
            "user/42/recovery-codes",
            "",
            0xb0,
            0,
          ),
          message(
            "bytes: non-ASCII key name, 256-byte value → 512 bucket",
            "ключ/🔑/ü",
            sequence(0, 256),
            0xc0,
            JAN_2026 + 1,
          ),
        ],
      },
      {
        comment: "generated hxs_ secret: root = HKDF(decoded 32 bytes), no scrypt",
        secret: GENERATED,
        generated: true,
        storeId: "billing_v2",
        storeSaltHex: hex(sequence(0x20, 32)),
        ...empty,
        messages: [
          message(
            "bytes: empty value; written at the latest time a frame may carry (8.64e15 ms)",
            "stripe:cus_123",
            new Uint8Array(0),
            0xd0,
            8_640_000_000_000_000,
          ),
          message(
            "bytes: 5000-byte value → 8192 (two 4 KiB pages)",
            "blob:large",
            sequence(7, 5000, 7),
            0xe0,
            JAN_2026 + 2,
          ),
          message(
            "text: a 100-character Google-style refresh token → 256 bucket",
            "google:12345",
            `1//0${"gFAKEtoken-Abc_123".repeat(5)}xyz123`,
            0xf0,
            JAN_2026 + 3,
          ),
        ],
      },
      {
        comment:
          "ordinary secret in NFD (no normalization: the NFC spelling is a different secret); same store and salt as the first",
        secret: "pa\u0301ssword with decomposed accents e\u0301",
        generated: false,
        storeId: "oauth-tokens",
        storeSaltHex: hex(sequence(0x00, 32)),
        ...empty,
        messages: [
          message(
            "text: same key name as the first store's",
            "gh:12345",
            "value",
            0x10,
            JAN_2026 + 4,
          ),
        ],
      },
    ],
    generatedSecretDetection: [
      { secret: GENERATED, generated: true },
      { secret: `${GENERATED.slice(0, -1)}9`, generated: false },
      { secret: GENERATED.slice(0, -1), generated: false },
      { secret: `${GENERATED}=`, generated: false },
      { secret: `HXS_${GENERATED.slice(4)}`, generated: false },
      { secret: `hxs_${"+".repeat(43)}`, generated: false },
      { secret: `${GENERATED}\n`, generated: false },
    ],
    secretRules: [
      { secret: "correct horse battery staple", outcome: "ok" },
      { secret: "0123456789abcdef", outcome: "ok" },
      { secret: "Password1Password1X", outcome: "ok" },
      { secret: GENERATED, outcome: "ok" },
      { secret: "0123456789abcde", outcome: "WEAK_SECRET" },
      { secret: "🔑".repeat(15), outcome: "WEAK_SECRET" },
      { secret: "🔑".repeat(16), outcome: "WEAK_SECRET" },
      { secret: "passwordpassword", outcome: "WEAK_SECRET" },
      { secret: "abcdefghabcdefgh", outcome: "WEAK_SECRET" },
      { secret: "Password1Password1Pass", outcome: "WEAK_SECRET" },
      { secret: `hxs_${"A".repeat(43)}`, outcome: "WEAK_SECRET" },
      { secret: `${GENERATED}\n`, outcome: "INVALID_INPUT" },
      { secret: "correct horse battery staple\r\n", outcome: "INVALID_INPUT" },
      { secret: "\uFEFFcorrect horse battery staple", outcome: "INVALID_INPUT" },
      { secret: "correct horse battery staple\u0085", outcome: "INVALID_INPUT" },
      { secret: "correct horse battery staple\u3000", outcome: "INVALID_INPUT" },
    ],
    atRest: {
      version: 1,
      masterKeyHex: hex(sequence(0x80, 32)),
      masterKeyIdHex: "",
      dataKeyHex: hex(sequence(0xc0, 32)),
      wrap: [
        {
          storeId: "oauth-tokens",
          dataKeyHex: hex(sequence(0xc0, 32)),
          ivHex: hex(sequence(1, 12)),
          wrappedHex: "",
        },
      ],
      blobs: [
        {
          comment: "a small blob",
          storeId: "oauth-tokens",
          keyIdHex: hex(sequence(0x30, 32)),
          blobHex: hex(sequence(0x01, 153, 3)),
          saltHex: hex(sequence(0xe0, 32)),
          storedHex: "",
        },
        {
          comment: "an empty blob",
          storeId: "billing_v2",
          keyIdHex: hex(sequence(0x50, 32)),
          blobHex: "",
          saltHex: hex(sequence(0x70, 32)),
          storedHex: "",
        },
      ],
    },
  };
}
