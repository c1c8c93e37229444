/**
 * A value as Grafana shows it in a panel of this unit: `reqps` → "12.3 req/s",
 * `s` → "850 µs" / "4.2 ms" / "1.3 s", `bytes` → "3.1 MiB", `percentunit` →
 * "0.25%", `short` → "1.2 K". Only the units the Hexclave dashboard uses.
 *
 * @example
 * formatValue(0.0042, "s"); // "4.2 ms"
 */
export function formatValue(value: number, unit: string | undefined, decimals?: number): string {
  if (!Number.isFinite(value)) return "No data";
  switch (unit) {
    case "percentunit":
      return `${fixed(value * 100, decimals)}%`;
    case "reqps":
      return `${scaled(value, decimals)} req/s`;
    case "ops":
      return `${scaled(value, decimals)} ops/s`;
    case "s":
      return seconds(value, decimals);
    case "bytes":
      return bytes(value, decimals);
    case "none":
      return fixed(value, decimals);
    default:
      return scaled(value, decimals);
  }
}

function fixed(value: number, decimals: number | undefined): string {
  if (decimals !== undefined) return value.toFixed(decimals);
  const size = Math.abs(value);
  if (size === 0 || Number.isInteger(value)) return String(value);
  return value.toFixed(size >= 100 ? 0 : size >= 10 ? 1 : size >= 1 ? 2 : 3);
}

function scaled(value: number, decimals: number | undefined): string {
  const size = Math.abs(value);
  if (size >= 1e6) return `${fixed(value / 1e6, decimals)} Mil`;
  if (size >= 1e3) return `${fixed(value / 1e3, decimals)} K`;
  return fixed(value, decimals);
}

function seconds(value: number, decimals: number | undefined): string {
  const size = Math.abs(value);
  if (size === 0) return "0 s";
  if (size < 1e-3) return `${fixed(value * 1e6, decimals)} µs`;
  if (size < 1) return `${fixed(value * 1e3, decimals)} ms`;
  return `${fixed(value, decimals)} s`;
}

function bytes(value: number, decimals: number | undefined): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let scaledValue = value;
  let index = 0;
  while (Math.abs(scaledValue) >= 1024 && index < units.length - 1) {
    scaledValue /= 1024;
    index += 1;
  }
  return `${fixed(scaledValue, index === 0 ? 0 : decimals)} ${units[index]}`;
}
