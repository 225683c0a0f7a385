/**
 * `Date.prototype.toISOString`, written out: the same text for every time value (tested against it
 * over the whole range), built from the UTC getters.
 *
 * Why not toISOString itself: its first call maps ~830 KiB more of the node binary's read-only
 * data and code into the process (measured in /proc/PID/smaps: the getters map nothing new), and
 * the resident supervisor stamps every log line with a time. Its idle RSS was 0.7–0.8 MiB lower
 * without it, three runs each (issue 19).
 */

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * The ISO 8601 UTC text of `ms` (epoch milliseconds), e.g. `2026-12-04T17:09:03.123Z`. Throws a
 * RangeError for an invalid time, as toISOString does: `undefined` too (a record read from disk
 * without the field must not be given a time), so the time is always passed.
 */
export function isoTime(ms: number): string {
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  if (Number.isNaN(year)) throw new RangeError('Invalid time value');
  const y = year >= 0 && year <= 9999 ? pad(year, 4) : `${year < 0 ? '-' : '+'}${pad(Math.abs(year), 6)}`;
  return `${y}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(d.getUTCMilliseconds(), 3)}Z`;
}
