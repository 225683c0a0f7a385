/**
 * A monotonic clock in milliseconds, for measuring how long something took: only the difference
 * between two readings means anything (the origin is arbitrary, not the process's start).
 *
 * Not `performance.now()`: the first use of `performance` (the global one too) loads node:perf_hooks
 * and nine of Node's internal modules, 0.25 MiB of the background supervisor's idle RSS measured on
 * a bare node with its flags (issue 19), which then needs it only to time probes and restarts.
 * The HTTP proxy keeps `performance.now()` on its per-request path, where the array that
 * `process.hrtime()` allocates would cost more than the module (proxy mode loads it anyway).
 * Fake timers (vitest's default set) fake `process.hrtime` as they fake `performance`.
 */
export function monotonicMs(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1000 + nanoseconds / 1e6;
}
