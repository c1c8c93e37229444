/**
 * `hexclave/server`: embed the Hexclave server (tests, benchmarks, custom
 * entry points). The CLI's `hexclave serve` is this plus signal handling.
 */

export type { ServerConfig, ServerFlags } from "./server-config.js";
export {
  ADMIN_TOKEN_FILE,
  type RunningServer,
  type StartServerOptions,
  startServer,
} from "./start-server.js";
