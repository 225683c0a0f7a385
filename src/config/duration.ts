/**
 * Durations as users write them ("500ms", "5s", "1.5s", "2m", "1h", or integer milliseconds) and
 * as the rest of naija-sup uses them (integer milliseconds).
 */

/**
 * The longest duration accepted, in ms. Node's timers overflow above 2^31 - 1 ms and then fire
 * after 1 ms instead (a "30 days" restart window would behave like "no window"), so larger values
 * are rejected rather than silently misbehaving.
 */
export const MAX_DURATION_MS = 2_147_483_647;

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/;

/**
 * Parses a duration; returns integer milliseconds, or undefined when `value` is not a duration.
 * Numbers are milliseconds and must be non-negative integers; strings need a unit.
 */
export function tryParseDuration(value: unknown): number | undefined {
  let ms: number;
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) return undefined;
    ms = value;
  } else if (typeof value === 'string') {
    const match = DURATION_PATTERN.exec(value.trim());
    if (!match) return undefined;
    const amount = Number(match[1]);
    ms = Math.round(amount * UNIT_MS[match[2] as keyof typeof UNIT_MS]);
  } else {
    return undefined;
  }
  return ms <= MAX_DURATION_MS ? ms : undefined;
}

/**
 * Parses a duration ("500ms", "5s", "1.5s", "2m", "1h", or non-negative integer milliseconds) to
 * integer milliseconds.
 * @throws RangeError naming the accepted forms when `value` is not a duration.
 */
export function parseDuration(value: string | number): number {
  const ms = tryParseDuration(value);
  if (ms === undefined) {
    throw new RangeError(`expected a duration like "5s", "500ms", "2m" or integer milliseconds (at most ${MAX_DURATION_MS}), got ${JSON.stringify(value)}`);
  }
  return ms;
}

/**
 * Formats milliseconds in the largest unit that represents them exactly: 250 → "250ms",
 * 1500 → "1.5s", 30000 → "30s", 120000 → "2m", 3600000 → "1h". `parseDuration` reads it back
 * to the same number.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return `${ms}ms`;
  if (ms >= UNIT_MS.h && ms % UNIT_MS.h === 0) return `${ms / UNIT_MS.h}h`;
  if (ms >= UNIT_MS.m && ms % UNIT_MS.m === 0) return `${ms / UNIT_MS.m}m`;
  if (ms >= UNIT_MS.s && Number.isInteger(ms)) return `${ms / UNIT_MS.s}s`;
  return `${ms}ms`;
}
