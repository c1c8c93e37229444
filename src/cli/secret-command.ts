import { Command } from "commander";
import { generateSecret } from "../crypto/secret.js";
import { printData } from "./cli-output.js";

/**
 * `hexclave secret generate`: prints a new store secret ("hxs_" + 256 random
 * bits). Such secrets need no key stretching, so a cold start costs
 * microseconds instead of ~0.5-1 s and 128 MiB per store.
 *
 * @example
 * program.addCommand(secretCommand());
 */
export function secretCommand(): Command {
  const secret = new Command("secret").description("make store secrets");
  secret.addCommand(
    new Command("generate")
      .description(
        "print a new random store secret (hxs_…); keep it in your secret manager and give it to your backend as HEXCLAVE_SECRET — lose it and nobody can read the data",
      )
      .option("--json", 'print {"secret": "hxs_…"}')
      .action((flags: { json?: boolean }) => {
        const value = generateSecret();
        printData(flags.json === true, { secret: value }, () => value);
      }),
  );
  return secret;
}
