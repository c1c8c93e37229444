import { Command } from "commander";
import type { StoreGrant, Token } from "../../gen/hexclave/v1/types.js";
import type { HexclaveError } from "../client/hexclave-error.js";
import { type AdminConnection, withAdmin } from "./admin-connection.js";
import { CliError, printData, table } from "./cli-output.js";
import { connectionOptions } from "./client-options.js";
import { parseDuration } from "./duration.js";
import { formatTime } from "./format.js";

type Flags = { address?: string; token?: string; json?: boolean };

/** `hexclave tokens create|list|revoke`: manage access tokens (admin token). */
export function tokensCommand(): Command {
  const tokens = new Command("tokens").description(
    "create, list and revoke access tokens (needs an admin token)",
  );

  tokens.addCommand(
    connectionOptions(new Command("create"))
      .description("create a token and print it once")
      .requiredOption("--name <name>", "a name for operators")
      .option("--admin", "grant every method on every store")
      .option(
        "--store <id[:read|:write|:rw]>",
        "grant access to a store; bare ID (or ID:rw) grants read and write; repeatable",
        (value: string, previous: string[]) => [...previous, value],
        [] as string[],
      )
      .option("--ttl <duration>", "the token stops working this long after now: 15m, 12h, 30d")
      .option("--json", "print { id, token, … } as JSON")
      .action(
        async (flags: Flags & { name: string; admin?: boolean; store: string[]; ttl?: string }) => {
          const admin = flags.admin === true;
          if (admin === flags.store.length > 0) {
            throw new CliError(
              "give exactly one of --admin or --store ID[:read|:write|:rw] (repeatable)",
            );
          }
          const grants = parseGrants(flags.store);
          const ttlMs = flags.ttl === undefined ? undefined : parseDuration(flags.ttl, "--ttl");
          const res = await withAdmin(flags, async (a) => {
            await warnAboutMissingStores(a, grants);
            return a.call((c) => c.createToken, {
              name: flags.name,
              admin,
              grants,
              ttl: ttlMs === undefined ? undefined : durationOf(ttlMs),
            });
          });
          const token = res.token as Token;
          printData(flags.json === true, { ...tokenJson(token), token: res.secret }, () =>
            [
              `created token ${token.id} (${access(token)}${token.expireTime === undefined ? "" : `, expires ${formatTime(token.expireTime)}`})`,
              res.secret,
              "store it now: it is not shown again",
            ].join("\n"),
          );
        },
      ),
  );

  tokens.addCommand(
    connectionOptions(new Command("list"))
      .description("list tokens (never their secrets)")
      .option("--all", "include revoked tokens")
      .option("--json", "print the tokens as JSON")
      .action(async (flags: Flags & { all?: boolean }) => {
        const res = await withAdmin(flags, (a) =>
          a.call((c) => c.listTokens, { includeRevoked: flags.all === true }),
        );
        printData(flags.json === true, res.tokens.map(tokenJson), () =>
          table(
            ["ID", "NAME", "ACCESS", "CREATED", "LAST USED", "EXPIRES", "REVOKED"],
            res.tokens.map((t) => [
              t.id,
              t.name,
              access(t),
              formatTime(t.createTime),
              formatTime(t.lastUseTime),
              formatTime(t.expireTime),
              formatTime(t.revokeTime),
            ]),
          ),
        );
      }),
  );

  tokens.addCommand(
    connectionOptions(new Command("revoke"))
      .description("revoke a token: calls made with it fail from now on")
      .argument("<id>", 'token id (the 16 hex characters after "hxk_"; see "tokens list")')
      .option("--json", "print the revoked token as JSON")
      .action(async (id: string, flags: Flags) => {
        const res = await withAdmin(flags, (a) => a.call((c) => c.revokeToken, { tokenId: id }));
        printData(flags.json === true, tokenJson(res.token as Token), () => `revoked token ${id}`);
      }),
  );
  return tokens;
}

/**
 * "oauth-tokens" or "oauth-tokens:rw" → read+write; "oauth-tokens:read" → read;
 * the same store twice merges. `rw` is how `tokens list` shows read+write.
 */
export function parseGrants(specs: readonly string[]): StoreGrant[] {
  const grants = new Map<string, StoreGrant>();
  for (const spec of specs) {
    const match = /^([^:]+)(?::(read|write|rw))?$/.exec(spec);
    if (match === null) {
      throw new CliError(`--store takes ID, ID:read, ID:write or ID:rw, got "${spec}"`);
    }
    const storeId = match[1] as string;
    const grant = grants.get(storeId) ?? { storeId, read: false, write: false };
    if (match[2] !== "write") grant.read = true;
    if (match[2] !== "read") grant.write = true;
    grants.set(storeId, grant);
  }
  return [...grants.values()];
}

/**
 * A store may be granted before it exists, so a missing one is not refused,
 * but it is said: usually it is a typo, and the token would open nothing.
 */
async function warnAboutMissingStores(
  admin: AdminConnection,
  grants: readonly StoreGrant[],
): Promise<void> {
  for (const { storeId } of grants) {
    try {
      await admin.call((c) => c.getStore, { storeId });
    } catch (error) {
      if ((error as HexclaveError).code !== "STORE_NOT_FOUND") throw error;
      process.stderr.write(
        `hexclave: warning: store "${storeId}" does not exist: the token can use it once it is created (hexclave stores create ${storeId}); check the id for a typo\n`,
      );
    }
  }
}

/** Milliseconds as a google.protobuf.Duration. */
function durationOf(ms: number): { seconds: bigint; nanos: number } {
  return { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

function access(token: Token): string {
  if (token.admin) return "admin";
  return token.grants
    .map((g) => `${g.storeId}:${g.read && g.write ? "rw" : g.read ? "read" : "write"}`)
    .join(",");
}

function tokenJson(token: Token): Record<string, unknown> {
  return {
    id: token.id,
    name: token.name,
    admin: token.admin,
    grants: token.grants,
    createTime: token.createTime?.toISOString(),
    lastUseTime: token.lastUseTime?.toISOString(),
    expireTime: token.expireTime?.toISOString(),
    revokeTime: token.revokeTime?.toISOString(),
  };
}
