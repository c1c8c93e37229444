import { Command } from "commander";
import { inspectStorage } from "../storage/inspect-storage.js";
import { verifyVault } from "../vault/verify-vault.js";
import { CliError, printData } from "./cli-output.js";
import {
  type DatabaseFlags,
  databaseConfig,
  databaseMasterKeys,
  databaseOptions,
} from "./database-options.js";
import { progressLine } from "./progress.js";

/**
 * `hexclave verify`: checks a vault's database with the master key and no
 * client secret — the engine's integrity check, then every store key and
 * every entry opened at rest, counts against contents. Safe while the server
 * runs (it only reads). Exit 0 only if nothing is wrong.
 */
export function verifyCommand(): Command {
  return databaseOptions(new Command("verify"))
    .description("check the database: integrity, every store key, every entry at rest, the counts")
    .option("--json", "print the report as JSON")
    .action(async (flags: DatabaseFlags & { json?: boolean }) => {
      const config = databaseConfig(flags);
      const keys = await databaseMasterKeys(config);
      const storage = await inspectStorage(
        config.databaseUrl === undefined
          ? { dataDir: config.dataDir }
          : { databaseUrl: config.databaseUrl },
      );
      try {
        const integrity = await storage.integrityCheck();
        const progress = progressLine(flags.json !== true, "entries checked");
        const report = await verifyVault(storage.reads, [keys.current, ...keys.previous], (n) =>
          progress.update(n),
        );
        progress.done();
        const ok = integrity.length === 1 && integrity[0] === "ok" && report.problems.length === 0;
        printData(flags.json === true, { ok, integrity, ...report }, () =>
          [
            `integrity: ${integrity.slice(0, 10).join("; ")}`,
            `checked ${report.stores} stores and ${report.entries} entries`,
            ...report.problems.map(
              (p) =>
                `problem (${p.kind}) in store "${p.storeId}"${p.keyIdPrefix === undefined ? "" : ` at key id ${p.keyIdPrefix}…`}: ${p.detail}`,
            ),
            ok ? "no problems found" : "",
          ]
            .filter((line) => line !== "")
            .join("\n"),
        );
        if (!ok) {
          throw new CliError(
            `verify found ${report.problems.length} problem(s)${integrity[0] === "ok" ? "" : " and the integrity check failed"}: restore from a backup, or re-write the entries named`,
          );
        }
      } finally {
        await storage.close();
      }
    });
}
