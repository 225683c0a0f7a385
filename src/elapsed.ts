/**
 * Durations for people, in one style everywhere the CLI, the log file and `status` print one:
 * under 1 s in ms ("340 ms"), under a minute in seconds with at most one decimal ("1.5 s",
 * "12 s"), then in larger units ("1m 15s", "2h 5m", "3d 0h") — long spans are uptimes and ages,
 * where seconds stop mattering. Tiny and dependency-free so the `status` path can load it.
 */
export function formatDuration(ms: number): string {
  const value = Math.max(0, Number.isFinite(ms) ? ms : 0);
  if (Math.round(value) < 1000) return `${Math.round(value)} ms`;
  const seconds = Math.round(value / 100) / 10;
  if (seconds < 60) return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} s`;
  // 59.96 s rounds up to a minute: say "1m 0s", not "60 s" nor (flooring) "59s".
  return formatElapsed(Math.max(value, 60_000));
}

/**
 * How long something has run, whole units: 75 s → "1m 15s", 2 h 5 min → "2h 5m", 3 days → "3d 0h".
 * The long branch of {@link formatDuration}; free-port and preflight use it for process ages.
 * Below one second the caller decides the wording.
 */
export function formatElapsed(ms: number): string {
  const s = Math.floor(Math.max(0, ms) / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}
