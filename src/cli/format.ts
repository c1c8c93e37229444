/** Human-readable sizes and times for CLI tables. */

/** 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A timestamp as ISO 8601 to the second, or "-" when unset. */
export function formatTime(date: Date | undefined): string {
  return date === undefined ? "-" : date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
