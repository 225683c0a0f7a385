/**
 * Restart arithmetic, kept apart from the state machine so each rule is one small function.
 *
 * Why these rules (../shared/research/pm2.md, supervisor-semantics.md): PM2 only counts crashes
 * in its first 16 s and under 1 s of uptime, so a server that dies after 3 s restarts forever;
 * supervisord's 1 s tick promotes fast crashers to RUNNING and never gives up. Here every restart
 * is timestamped and counted in a sliding window, whatever the crash rhythm.
 */
import type { RestartConfig } from '../config/types.js';

/**
 * The delay before the `attempt`-th consecutive restart (1-based).
 *
 * The first restart after a stable run (attempt 1) is immediate: one crash of a server that had
 * been healthy for `minUptime` should cost the time to start it again and nothing more (a kill -9
 * is back to 200 in well under 100 ms; see bench/supervise.mjs). Back-to-back failures then wait
 * initialDelay × factor^(attempt−2), capped at maxDelay, with ±10% jitter so that several
 * supervisors restarting together do not stampede a shared dependency. `random` is in [0, 1) and
 * injected so tests are deterministic.
 */
export function backoffDelay(attempt: number, policy: Pick<RestartConfig, 'initialDelay' | 'maxDelay' | 'factor'>, random: () => number): number {
  if (attempt <= 1) return 0;
  const base = Math.min(policy.maxDelay, policy.initialDelay * Math.pow(policy.factor, attempt - 2));
  const jitter = (random() * 2 - 1) * 0.1;
  return Math.max(0, Math.round(base * (1 + jitter)));
}

/** Restart timestamps still inside the window that ends at `now`. */
export function restartsInWindow(times: readonly number[], now: number, windowMs: number): number[] {
  return times.filter((t) => now - t < windowMs);
}

/** Whether one more restart at `now` would exceed `maxRestarts` within the window. */
export function startLimitHit(times: readonly number[], now: number, policy: Pick<RestartConfig, 'maxRestarts' | 'window'>): boolean {
  return restartsInWindow(times, now, policy.window).length >= policy.maxRestarts;
}
