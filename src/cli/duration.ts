import { CliError } from "./cli-output.js";

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^([1-9]\d{0,9})(s|m|h|d)$/;

/**
 * A duration flag in milliseconds: a whole number and one unit, `90s`, `15m`,
 * `1h` or `30d`. Nothing else is accepted (no `1h30m`, no `1.5h`, no bare
 * number): a lifetime misread is a secret kept too long or lost too soon.
 *
 * @throws CliError naming the flag and the accepted forms.
 * @example
 * parseDuration("30d", "--ttl"); // 2_592_000_000
 */
export function parseDuration(text: string, flag: string): number {
  const match = DURATION.exec(text);
  if (match === null) {
    throw new CliError(
      `INVALID_ARGUMENT: ${flag} must be a whole number and a unit (s, m, h or d), such as 90s, 15m, 1h or 30d; got ${JSON.stringify(text.slice(0, 40))}`,
    );
  }
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}
