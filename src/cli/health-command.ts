import { Metadata } from "@grpc/grpc-js";
import { Command } from "commander";
import {
  HealthClient,
  HealthCheckResponse_ServingStatus as Serving,
} from "../../gen/grpc/health/v1/health.js";
import { errorFromStatus } from "../client/status-to-error.js";
import { CliError, printData } from "./cli-output.js";
import { addressOption, resolveAddress } from "./client-options.js";
import { cliChannelOptions, cliCredentials } from "./tls-options.js";

/**
 * `hexclave health`: asks grpc.health.v1 whether the server is serving; exit 0
 * only if it is. Used by the container's HEALTHCHECK, so it needs no token.
 */
export function healthCommand(): Command {
  return addressOption(new Command("health"))
    .description("check that the server is serving (exit 0) or not (exit 1)")
    .option("--service <name>", "a service's full name; default: the whole server", "")
    .option("--timeout <ms>", "give up after this many milliseconds", "3000")
    .option("--json", "print the result as JSON")
    .action(
      async (flags: { address?: string; service: string; timeout: string; json?: boolean }) => {
        const address = resolveAddress(flags);
        const client = new HealthClient(address, cliCredentials(), cliChannelOptions());
        try {
          const status = await new Promise<Serving>((resolve, reject) =>
            client.check(
              { service: flags.service },
              new Metadata(),
              { deadline: Date.now() + Number(flags.timeout) },
              (error, response) =>
                error === null ? resolve(response.status) : reject(errorFromStatus(error, address)),
            ),
          );
          const name = Serving[status] ?? String(status);
          printData(flags.json === true, { address, status: name }, () => `${address}: ${name}`);
          if (status !== Serving.SERVING) throw new CliError(`${address} is ${name}`);
        } finally {
          client.close();
        }
      },
    );
}
