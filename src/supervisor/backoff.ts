/**
 * Restart arithmetic, kept apart from the state machine so each rule is one small function.
 *
 * Why these rules: PM2 only counts crashes in its first 16 s and under 1 s of uptime, so a server
 * that dies after 3 s restarts forever at full speed; supervisord's 1 s tick promotes fast crashers
 * to RUNNING and never gives up either. Giving up is no better for a server that has worked: six
 * kill -9 within a minute must not leave an API down until a human comes. So, like Kubernetes'
 * CrashLoopBackOff, a server that was ready once is restarted for as long as it takes, the waits
 * doubling up to `maxDelay`; only a start that never got ready is given a bounded number of
 * attempts (`startRetries`). A user who wants a hard limit sets `maxRestarts`: every restart is
 * timestamped and counted in a sliding window, whatever the crash rhythm.
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

/** Whether one more restart at `now` would exceed `maxRestarts` within the window (never when it is null). */
export function startLimitHit(times: readonly number[], now: number, policy: Pick<RestartConfig, 'maxRestarts' | 'window'>): boolean {
  return policy.maxRestarts !== null && restartsInWindow(times, now, policy.window).length >= policy.maxRestarts;
}

/**
 * Whether a failed start of a server that was never ready may be tried again: `failedStarts`
 * counts this one too, so with startRetries 2 the third failure is the last.
 */
export function startRetriesLeft(failedStarts: number, policy: Pick<RestartConfig, 'startRetries'>): boolean {
  return failedStarts <= policy.startRetries;
}
