import type { MustNotOpenVector } from "./must-not-open-vectors.js";
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

function mustNotOpen(
  mutation: string,
  failsAtStep: number,
  comment: string,
  storeIndex = 1,
): MustNotOpenVector {
  return { comment, mutation, storeIndex, failsAtStep, keyIdHex: "", envelopeHex: "" };
}

/** "the base": stores[1].messages[2], the Google-style token in the 256-byte bucket. */
const MUST_NOT_OPEN: MustNotOpenVector[] = [
  mustNotOpen("key-id-31-bytes", 1, "the base envelope under a key id one byte short"),
  mustNotOpen("empty", 2, "an empty envelope"),
  mustNotOpen("header-only", 2, "the base's 73-byte header alone"),
  mustNotOpen("truncated-below-minimum", 2, "the base without its last byte: 344 bytes"),
  mustNotOpen(
    "truncated-by-one-multi-page",
    2,
    "stores[1].messages[1] (8,281 bytes) without its last byte: 8,191 is no padded length",
  ),
  mustNotOpen(
    "extended-by-a-bucket",
    7,
    "the base followed by 256 zero bytes: a valid-looking length (512), header intact, tag wrong",
  ),
  mustNotOpen("version-0x00", 3, "the base with version byte 0x00"),
  mustNotOpen("version-0x02", 3, "the base with version byte 0x02 (a future version)"),
  mustNotOpen("flip-fingerprint-bit", 4, "the base with bit 0 of byte 1 (fingerprint) flipped"),
  mustNotOpen("flip-salt-bit", 6, "the base with bit 0 of byte 9 (message salt) flipped"),
  mustNotOpen("flip-commitment-bit", 6, "the base with bit 0 of byte 41 (commitment) flipped"),
  mustNotOpen("flip-ciphertext-bit", 7, "the base with bit 0 of byte 73 (ciphertext) flipped"),
  mustNotOpen("flip-tag-bit", 7, "the base with bit 0 of its last byte (GCM tag) flipped"),
  mustNotOpen(
    "other-key-id",
    6,
    "the base opened under another key id of its store (stores[1].messages[0]'s): a blob moved between keys",
  ),
  mustNotOpen(
    "other-secret",
    4,
    "stores[2].messages[0] (same store id, salt and key name, another secret) opened with stores[0]'s keys and key id",
    0,
  ),
  mustNotOpen(
    "other-secret-fingerprint-rewritten",
    6,
    "as other-secret, with stores[0]'s fingerprint written over the header's: the fingerprint is not authentication",
    0,
  ),
  mustNotOpen(
    "aad-other-store-id",
    7,
    `sealed with the right keys and key id but "billing_v3" as the AAD's store id: a blob moved between stores whose keys happened to match`,
  ),
  mustNotOpen(
    "aad-other-key-id",
    7,
    "message keys for the base's key id, but stores[1].messages[0]'s key id in the AAD",
  ),
  mustNotOpen(
    "frame-length-not-a-bucket",
    2,
    "a correctly encrypted frame of 272 bytes (no bucket): envelope of 361 bytes",
  ),
  mustNotOpen(
    "frame-padded-to-a-bigger-bucket",
    8,
    "a correctly encrypted frame padded to 512 bytes although it fits 256: non-canonical length",
  ),
  mustNotOpen(
    "frame-nonzero-padding",
    8,
    "a correctly encrypted frame whose last padding byte is 0x01",
  ),
  mustNotOpen("frame-kind-0x00", 8, "a correctly encrypted frame of kind 0x00"),
  mustNotOpen("frame-kind-0x03", 8, "a correctly encrypted frame of kind 0x03"),
  mustNotOpen(
    "frame-written-at-too-late",
    8,
    "a correctly encrypted frame written at 8,640,000,000,000,001 ms, one past the latest allowed",
  ),
  mustNotOpen("frame-name-length-0", 8, "a correctly encrypted frame with a 0-byte key name"),
  mustNotOpen(
    "frame-name-length-past-frame",
    8,
    "a correctly encrypted frame whose name length (1,000) runs past its 256 bytes",
  ),
  mustNotOpen(
    "frame-name-1025-bytes",
    8,
    "a correctly encrypted 2,048-byte frame holding a 1,025-byte key name, one past the limit",
  ),
  mustNotOpen(
    "frame-value-length-past-frame",
    8,
    "a correctly encrypted frame whose value length (300) runs past its 256 bytes",
  ),
  mustNotOpen(
    "frame-value-length-over-1-mib",
    8,
    "a correctly encrypted frame whose value length is 0xffffffff",
  ),
  mustNotOpen(
    "frame-text-value-not-utf8",
    8,
    "a correctly encrypted text frame whose value starts with byte 0xff",
  ),
  mustNotOpen(
    "frame-text-value-overlong-utf8",
    8,
    "a correctly encrypted text frame whose value is c0 af, an overlong '/' that lax decoders accept",
  ),
  mustNotOpen(
    "frame-name-not-utf8",
    8,
    "a correctly encrypted frame whose key name is 67 c3 28 (invalid UTF-8)",
  ),
  mustNotOpen(
    "frame-name-not-the-key-ids",
    9,
    'a correctly encrypted frame named "google:99999" under the key id of "google:12345": only the last check sees it',
  ),
];

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
    mustNotOpen: MUST_NOT_OPEN,
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
