import { Command } from "commander";
import { inspectStorage } from "../storage/inspect-storage.js";
import type { ChainedAuditRecord } from "../vault/audit-chain.js";
import { verifyAudit } from "../vault/verify-audit.js";
import { CliError, printData, table } from "./cli-output.js";
import {
  type DatabaseFlags,
  databaseConfig,
  databaseMasterKeys,
  databaseOptions,
} from "./database-options.js";
import { parseDuration } from "./duration.js";
import { progressLine } from "./progress.js";

/**
 * `hexclave audit verify|list`: checks the audit log's chains (with the
 * master key) and reads it with filters. Both only read, beside a running
 * server.
 */
export function auditCommand(): Command {
  const audit = new Command("audit").description(
    "check and read the audit log (who did what, and how it ended)",
  );

  audit.addCommand(
    databaseOptions(new Command("verify"))
      .description(
        "check every audit chain: exit 0 only if no record was deleted, altered or reordered",
      )
      .option("--json", "print the report as JSON")
      .action(async (flags: DatabaseFlags & { json?: boolean }) => {
        const config = databaseConfig(flags);
        const keys = await databaseMasterKeys(config);
        const storage = await inspectStorage(where(config));
        try {
          const progress = progressLine(flags.json !== true, "audit records checked");
          const report = await verifyAudit(storage.reads, [keys.current, ...keys.previous], (n) =>
            progress.update(n),
          );
          progress.done();
          printData(flags.json === true, { ok: report.breaks.length === 0, ...report }, () =>
            [
              `checked ${report.records} records in ${report.chains} chains`,
              ...report.breaks.map(
                (b) => `chain ${b.chainId} breaks at record ${b.seq} (${b.problem}): ${b.detail}`,
              ),
              report.breaks.length === 0 ? "the audit log is intact" : "",
            ]
              .filter((line) => line !== "")
              .join("\n"),
          );
          if (report.breaks.length > 0) {
            throw new CliError(
              `the audit log was tampered with: ${report.breaks.length} chain(s) break`,
            );
          }
        } finally {
          await storage.close();
        }
      }),
  );

  audit.addCommand(
    databaseOptions(new Command("list"), { masterKey: false })
      .description("list audit records, oldest first (the newest --limit of those that match)")
      .option("--store <id>", "only calls naming this store")
      .option("--token <id>", "only calls made with this token id")
      .option(
        "--since <time>",
        "only records at or after this time (ISO 8601, or a duration ago: 1h, 7d)",
      )
      .option("--until <time>", "only records before this time")
      .option(
        "--code <code>",
        "only this gRPC status code (0 = OK, 7 = PERMISSION_DENIED, 16 = UNAUTHENTICATED, …)",
      )
      .option(
        "--method <name>",
        "only this method, e.g. GetValue or hexclave.v1.AdminService/DeleteStore",
      )
      .option("--limit <n>", "at most this many records", "1000")
      .option("--json", "print the records as JSON")
      .action(
        async (
          flags: DatabaseFlags & {
            store?: string;
            token?: string;
            since?: string;
            until?: string;
            code?: string;
            method?: string;
            limit: string;
            json?: boolean;
          },
        ) => {
          const config = databaseConfig(flags);
          const storage = await inspectStorage(where(config));
          try {
            const records = await storage.reads.listAudit({
              storeId: flags.store,
              tokenId: flags.token,
              since: flags.since === undefined ? undefined : parseTime(flags.since, "--since"),
              until: flags.until === undefined ? undefined : parseTime(flags.until, "--until"),
              code: flags.code === undefined ? undefined : parseWhole(flags.code, "--code", 16),
              method: flags.method === undefined ? undefined : methodPath(flags.method),
              limit: parseWhole(flags.limit, "--limit", 1_000_000),
            });
            printData(flags.json === true, records.map(recordJson), () =>
              records.length === 0
                ? "no audit records match"
                : table(
                    ["TIME", "METHOD", "STORE", "TOKEN", "RESULT", "REQUEST", "PEER"],
                    records.map((r) => [
                      new Date(r.at).toISOString(),
                      r.method.replace(/^\/hexclave\.v1\./, ""),
                      r.storeId ?? "-",
                      r.tokenId ?? "-",
                      r.code === 0 ? "OK" : `${r.code} ${r.reason}`,
                      r.requestId,
                      r.clientIdentity === null ? r.peer : `${r.peer} ${r.clientIdentity}`,
                    ]),
                  ),
            );
          } finally {
            await storage.close();
          }
        },
      ),
  );
  return audit;
}

function where(config: ReturnType<typeof databaseConfig>) {
  return config.databaseUrl === undefined
    ? { dataDir: config.dataDir }
    : { databaseUrl: config.databaseUrl };
}

/** A record as JSON: hashes in hex, time in ISO 8601. */
function recordJson(r: ChainedAuditRecord): Record<string, unknown> {
  return {
    time: new Date(r.at).toISOString(),
    requestId: r.requestId,
    tokenId: r.tokenId,
    method: r.method,
    storeId: r.storeId,
    keyIdPrefix: r.keyIdPrefix,
    code: r.code,
    reason: r.reason,
    peer: r.peer,
    clientIdentity: r.clientIdentity,
    chain: r.chainId,
    seq: r.seq,
    hash: r.hash.toString("hex"),
  };
}

/** A method name as given (GetValue, VaultService/GetValue, or the full path) as its path. */
function methodPath(name: string): string {
  if (name.startsWith("/")) return name;
  if (name.includes(".")) return `/${name}`;
  const service = [
    "CreateStore",
    "GetStore",
    "ListStores",
    "DeleteStore",
    "CreateToken",
    "ListTokens",
    "RevokeToken",
  ].includes(name.replace(/^.*\//, ""))
    ? "AdminService"
    : "VaultService";
  return `/hexclave.v1.${service}/${name.replace(/^.*\//, "")}`;
}

function parseTime(text: string, flag: string): number {
  // A duration ago (1h, 7d: the same grammar as --ttl), or an ISO 8601 time.
  if (/^\d+[smhd]$/.test(text)) return Date.now() - parseDuration(text, flag);
  const at = Date.parse(text);
  if (Number.isNaN(at))
    throw new CliError(
      `${flag} must be an ISO 8601 time or a duration like 1h or 7d, got "${text.slice(0, 40)}"`,
    );
  return at;
}

function parseWhole(text: string, flag: string, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > max)
    throw new CliError(`${flag} must be a whole number up to ${max}, got "${text}"`);
  return n;
}
