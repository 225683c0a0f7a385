/**
 * How long something has run, for people: 75 s → "1m 15s", 2 h 5 min → "2h 5m", 3 days → "3d 0h".
 * One formatter for `status`, `free-port` and preflight messages; tiny and dependency-free so the
 * `status` path can load it without cost. Below one second the caller decides the wording.
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
