/**
 * Sizes as users write them ("10MB", "512KB", "1.5GB", "100B", or integer bytes) and as the rest
 * of naija-sup uses them (integer bytes). Units are binary — 1 KB = 1024 B, 1 MB = 1024 KB,
 * 1 GB = 1024 MB — as for file sizes in `ls -lh` and logrotate's `size 10M`; they are read in any
 * case ("10mb" is 10 MB: nobody means megabits for a log file).
 */

/** The largest size accepted, in bytes: integers above it lose precision as JS numbers. */
export const MAX_SIZE_BYTES = Number.MAX_SAFE_INTEGER;

const UNIT_BYTES = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 } as const;
const SIZE_PATTERN = /^(\d+(?:\.\d+)?)\s*([KMG]?B)$/i;

/**
 * Parses a size; returns integer bytes, or undefined when `value` is not a size. Numbers are bytes
 * and must be non-negative integers; strings need a unit. A fractional amount is rounded to the
 * nearest byte ("1.5KB" is 1536, "0.1KB" is 102).
 */
export function tryParseSize(value: unknown): number | undefined {
  let bytes: number;
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) return undefined;
    bytes = value;
  } else if (typeof value === 'string') {
    const match = SIZE_PATTERN.exec(value.trim());
    if (!match) return undefined;
    const unit = (match[2] as string).toUpperCase() as keyof typeof UNIT_BYTES;
    bytes = Math.round(Number(match[1]) * UNIT_BYTES[unit]);
  } else {
    return undefined;
  }
  return bytes <= MAX_SIZE_BYTES ? bytes : undefined;
}

/**
 * Parses a size ("10MB", "512KB", "1GB", "100B", or non-negative integer bytes) to integer bytes.
 * @throws RangeError naming the accepted forms when `value` is not a size.
 */
export function parseSize(value: string | number): number {
  const bytes = tryParseSize(value);
  if (bytes === undefined) {
    throw new RangeError(`expected a size like "10MB", "512KB", "1GB" or integer bytes, got ${JSON.stringify(value)}`);
  }
  return bytes;
}

/**
 * Formats bytes in the largest unit that holds them as a whole number: 10485760 → "10MB",
 * 1572864 → "1536KB", 1000 → "1000B". `parseSize` reads it back to the same number.
 */
export function formatSize(bytes: number): string {
  if (!Number.isInteger(bytes) || bytes < 0) return `${bytes}B`;
  for (const unit of ['GB', 'MB', 'KB'] as const) {
    const size = UNIT_BYTES[unit];
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}B`;
}
