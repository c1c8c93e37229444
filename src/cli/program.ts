import { Command } from "commander";
import { auditCommand } from "./audit-command.js";
import { backupCommand } from "./backup-command.js";
import { healthCommand } from "./health-command.js";
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

/** The `hexclave` command line: every command is registered here. */
export function buildProgram(): Command {
  const program = new Command("hexclave")
    .description("Hexclave: a zero-knowledge vault for the secrets your users hand you")
    .showHelpAfterError()
    .configureOutput({ outputError: (text, write) => write(text) });
  program.addCommand(serveCommand());
  program.addCommand(healthCommand());
  program.addCommand(storesCommand());
  program.addCommand(tokensCommand());
  program.addCommand(secretCommand());
  for (const command of valueCommands()) program.addCommand(command);
  program.addCommand(rotateSecretCommand());
  program.addCommand(verifyCommand());
  program.addCommand(auditCommand());
  program.addCommand(migrateCommand());
  program.addCommand(backupCommand());
  program.addCommand(restoreCommand());
  program.addCommand(masterKeyCommand());
  return program;
}
