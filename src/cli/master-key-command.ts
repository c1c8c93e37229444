import { existsSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { masterKeyId } from "../crypto/at-rest.js";
import { fileProvider } from "../server/master-key-provider.js";
import { inspectStorage } from "../storage/inspect-storage.js";
import { masterKeyUsage } from "../storage/master-key-usage.js";
import { openStorage } from "../storage/open-storage.js";
import { serverIdentity } from "../storage/server-registry.js";
import { SQLITE_FILE_NAME } from "../storage/sqlite-storage.js";
import { rotateMasterKey } from "../vault/rotate-master-key.js";
import { CliError, printData } from "./cli-output.js";
import {
  type DatabaseFlags,
  databaseConfig,
  databaseMasterKeys,
  databaseOptions,
} from "./database-options.js";
import { progressLine } from "./progress.js";

/**
 * `hexclave master-key rotate --new-key-file NEW`: re-wraps every store's
 * data key under a new master key, one store per transaction, resumable. On
 * PostgreSQL it runs while servers serve (started with the new key and the
 * old one as previous); on SQLite with the server stopped (it owns the data
 * directory). docs/backup.md has the procedure.
 */
export function masterKeyCommand(): Command {
  const masterKey = new Command("master-key").description(
    "manage the master key that wraps every store's data key",
  );
  masterKey.addCommand(
    databaseOptions(new Command("rotate"))
      .description(
        "re-wrap every store's data key under a new master key (resumable: run again after a crash)",
      )
      .requiredOption("--new-key-file <file>", "the new master key (32 bytes, raw or base64; 0400)")
      .option("--json", "print the report as JSON")
      .action(async (flags: DatabaseFlags & { newKeyFile: string; json?: boolean }) => {
        const config = databaseConfig(flags);
        const keys = await databaseMasterKeys(config);
        const newKey = await fileProvider(flags.newKeyFile, "--new-key-file").load();
        const oldKeys = [keys.current, ...keys.previous].filter((k) => !k.equals(newKey));
        if (oldKeys.length === 0) {
          throw new CliError(
            "--new-key-file holds the current master key: give the new key there, and the current one as --master-key-file / HEXCLAVE_MASTER_KEY_FILE",
          );
        }
        if (
          config.databaseUrl === undefined &&
          !existsSync(join(config.dataDir, SQLITE_FILE_NAME))
        ) {
          throw new CliError(`${config.dataDir} holds no Hexclave database: check --data-dir`);
        }
        const storage = await openStorage({
          dataDir: config.dataDir,
          databaseUrl: config.databaseUrl,
          poolSize: 2,
          masterKeys: [newKey, ...oldKeys],
          server: serverIdentity(),
        }).catch((error: unknown) => {
          if (config.databaseUrl === undefined && /in use by another/.test(String(error))) {
            throw new CliError(
              `a server is running on ${config.dataDir}: on SQLite, stop it, run master-key rotate, then start it with the new key (docs/backup.md)`,
            );
          }
          throw error;
        });
        const progress = progressLine(flags.json !== true, "stores re-wrapped");
        let report: Awaited<ReturnType<typeof rotateMasterKey>>;
        try {
          report = await rotateMasterKey(storage, {
            newKey,
            oldKeys,
            onProgress: (done, total) => progress.update(done, total),
          });
          // Old wrapped keys must not linger in the WAL (SQLite) or dead tuples (PostgreSQL).
          await storage.scrub();
        } finally {
          progress.done();
          await storage.close();
        }
        const inspected = await inspectStorage(
          config.databaseUrl === undefined
            ? { dataDir: config.dataDir }
            : { databaseUrl: config.databaseUrl },
        );
        const usage = await masterKeyUsage(inspected.db).finally(() => inspected.close());
        const old = usage.filter((u) => u.id !== report.newKeyId);
        const oldIds = new Set(oldKeys.map((k) => masterKeyId(k).toString("hex")));
        const ok = report.failed.length === 0 && report.remaining === 0;
        printData(
          flags.json === true,
          { ok, ...report, keys: usage.map((u) => ({ ...u, retired: u.stores === 0 })) },
          () =>
            [
              `re-wrapped ${report.rewrapped} store keys under master key ${report.newKeyId} (${report.alreadyNew} were under it already)`,
              ...report.failed.map((f) => `store "${f.storeId}" not re-wrapped: ${f.detail}`),
              ...old.map((u) =>
                u.stores > 0
                  ? `master key ${u.id}: still wraps ${u.stores} store(s)`
                  : u.auditRecords + u.auditCheckpoints > 0
                    ? `master key ${u.id}: retired (wraps no store); ${u.auditRecords} audit records and ${u.auditCheckpoints} checkpoints were made under it: keep it offline for \`hexclave audit verify\` (HEXCLAVE_PREVIOUS_MASTER_KEY_FILE) until retention prunes them`
                    : `master key ${u.id}: retired; nothing needs it any more`,
              ),
              ...[...oldIds]
                .filter((id) => !usage.some((u) => u.id === id))
                .map((id) => `master key ${id}: retired; nothing needs it any more`),
              ok
                ? "done: restart the servers with only the new key (--master-key-file NEW, no --previous-master-key-file)"
                : "",
            ]
              .filter((line) => line !== "")
              .join("\n"),
        );
        if (report.failed.length > 0) {
          throw new CliError(
            `${report.failed.length} store(s) could not be re-wrapped: ${report.failed[0]?.storeId}: ${report.failed[0]?.detail}`,
          );
        }
        if (report.remaining > 0) {
          throw new CliError(
            `${report.remaining} store(s) are still under an old key (created meanwhile by a server whose current key is the old one?): restart every server with --master-key-file NEW --previous-master-key-file OLD, then run this again`,
          );
        }
      }),
  );
  return masterKey;
}
