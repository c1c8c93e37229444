import { Command } from "commander";
import type { StoreGrant, Token } from "../../gen/hexclave/v1/types.js";
import { withAdmin } from "./admin-connection.js";
import { CliError, printData, table } from "./cli-output.js";
import { connectionOptions } from "./client-options.js";
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
        "--store <id[:read|:write]>",
        "grant access to a store; bare ID grants read and write; repeatable",
        (value: string, previous: string[]) => [...previous, value],
        [] as string[],
      )
      .option("--json", "print { id, token, … } as JSON")
      .action(async (flags: Flags & { name: string; admin?: boolean; store: string[] }) => {
        const admin = flags.admin === true;
        if (admin === flags.store.length > 0) {
          throw new CliError(
            "give exactly one of --admin or --store ID[:read|:write] (repeatable)",
          );
        }
        const res = await withAdmin(flags, (a) =>
          a.call((c) => c.createToken, {
            name: flags.name,
            admin,
            grants: parseGrants(flags.store),
          }),
        );
        const token = res.token as Token;
        printData(flags.json === true, { ...tokenJson(token), token: res.secret }, () =>
          [
            `created token ${token.id} (${access(token)})`,
            res.secret,
            "store it now: it is not shown again",
          ].join("\n"),
        );
      }),
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
            ["ID", "NAME", "ACCESS", "CREATED", "LAST USED", "REVOKED"],
            res.tokens.map((t) => [
              t.id,
              t.name,
              access(t),
              formatTime(t.createTime),
              formatTime(t.lastUseTime),
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

/** "oauth-tokens" → read+write; "oauth-tokens:read" → read; the same store twice merges. */
export function parseGrants(specs: readonly string[]): StoreGrant[] {
  const grants = new Map<string, StoreGrant>();
  for (const spec of specs) {
    const match = /^([^:]+)(?::(read|write))?$/.exec(spec);
    if (match === null) throw new CliError(`--store takes ID, ID:read or ID:write, got "${spec}"`);
    const storeId = match[1] as string;
    const grant = grants.get(storeId) ?? { storeId, read: false, write: false };
    if (match[2] !== "write") grant.read = true;
    if (match[2] !== "read") grant.write = true;
    grants.set(storeId, grant);
  }
  return [...grants.values()];
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
    revokeTime: token.revokeTime?.toISOString(),
  };
}
