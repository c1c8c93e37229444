import { Command } from "commander";
import { auditCommand } from "./audit-command.js";
import { backupCommand } from "./backup-command.js";
import { exportCommand } from "./export-command.js";
import { healthCommand } from "./health-command.js";
import { importCommand } from "./import-command.js";
import { keysCommand } from "./keys-command.js";
import { masterKeyCommand } from "./master-key-command.js";
import { migrateCommand } from "./migrate-command.js";
import { restoreCommand } from "./restore-command.js";
import { rotateSecretCommand } from "./rotate-secret-command.js";
import { secretCommand } from "./secret-command.js";
import { serveCommand } from "./serve-command.js";
import { storesCommand } from "./stores-command.js";
import { tokensCommand } from "./tokens-command.js";
import { valueCommands } from "./value-commands.js";
import { verifyCommand } from "./verify-command.js";
import { packageVersion } from "./version.js";

/** The `hexclave` command line: every command is registered here. */
export function buildProgram(): Command {
  const program = new Command("hexclave")
    .description("Hexclave: a zero-knowledge vault for the secrets your users hand you")
    .version(packageVersion(), "-V, --version", "print the version");
  program.addCommand(serveCommand());
  program.addCommand(healthCommand());
  program.addCommand(storesCommand());
  program.addCommand(tokensCommand());
  program.addCommand(secretCommand());
  for (const command of valueCommands()) program.addCommand(command);
  program.addCommand(keysCommand());
  program.addCommand(exportCommand());
  program.addCommand(importCommand());
  program.addCommand(rotateSecretCommand());
  program.addCommand(verifyCommand());
  program.addCommand(auditCommand());
  program.addCommand(migrateCommand());
  program.addCommand(backupCommand());
  program.addCommand(restoreCommand());
  program.addCommand(masterKeyCommand());
  oneLineUsageErrors(program);
  return program;
}

/**
 * Usage errors (an unknown option, a missing argument) print one line and
 * where to read more, like every other error, not the whole help.
 * Commander does not pass output settings on to added commands: set on each.
 */
function oneLineUsageErrors(command: Command, path = command.name()): void {
  command.showHelpAfterError(false).configureOutput({
    outputError: (text, write) =>
      write(`hexclave: ${text.replace(/^error: /, "").trim()} (see "${path} --help")\n`),
  });
  for (const sub of command.commands) oneLineUsageErrors(sub, `${path} ${sub.name()}`);
}
