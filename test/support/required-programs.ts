/**
 * True when a missing program (PostgreSQL, Chromium, Prometheus) must fail
 * the run rather than skip its tests: its own variable set (e.g.
 * `HEXCLAVE_REQUIRE_BROWSER=1`), or `CI` set to anything but "" / "0" /
 * "false". .ci/run sets all of them.
 *
 * @example
 * if (!isRequired("HEXCLAVE_REQUIRE_BROWSER") && !existsSync(chromium)) describe.skip(…);
 */
export function isRequired(variable: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const on = (value: string | undefined): boolean =>
    value !== undefined && !["", "0", "false"].includes(value.toLowerCase());
  return on(env[variable]) || on(env.CI);
}
