/**
 * The restart policy's arithmetic — delays, limits and when to stop — kept apart from the state
 * machine so each rule is one small function.
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
import type { ExitInfo } from './events.js';

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
function startRetriesLeft(failedStarts: number, policy: Pick<RestartConfig, 'startRetries'>): boolean {
  return failedStarts <= policy.startRetries;
}

// Deterministic failures are not retried blindly: restarting into the same EADDRINUSE, the same
// missing module or the same bcrypt binding built for another runtime cannot help, and a crash
// loop would only bury the one line that says why. This holds after a first ready too: the endless
// backoff is for failures that time can heal, and none of these is one. (A command that cannot be
// spawned never gets here: the machine ends at 'spawn-failed' itself.)
const DETERMINISTIC: Partial<Record<ExitInfo['cause'], string>> = {
  'port-in-use': 'the port is in use by another process; restarting would fail the same way',
  'permission-denied': 'not allowed to bind the port; restarting would fail the same way',
  'module-not-found': 'a module is missing; restarting would fail the same way',
  'native-module': 'a native module cannot be loaded in this runtime; restarting would fail the same way',
};

/** What the restart policy knows of the failures so far. */
export interface FailureHistory {
  /** This failure's number in the current run of failures (1-based); before a first ready, the failed starts. */
  attempt: number;
  /** Whether any instance of the supervisor was ever ready. */
  everReady: boolean;
  /** Timestamps of the earlier policy restarts. */
  restartTimes: readonly number[];
}

/**
 * Why the supervisor must stop restarting after this unrequested exit, or null to restart it.
 * One sentence each: the renderers put "giving up:" in front, so the reasons never say it.
 */
export function giveUpReason(
  exit: Pick<ExitInfo, 'cause' | 'summary'>,
  history: FailureHistory,
  now: number,
  policy: Pick<RestartConfig, 'startRetries' | 'maxRestarts' | 'window'>,
): string | null {
  const deterministic = DETERMINISTIC[exit.cause];
  if (deterministic !== undefined) return deterministic;
  if (!history.everReady && !startRetriesLeft(history.attempt, policy)) {
    const attempts = history.attempt === 1 ? '1 attempt' : `${history.attempt} attempts`;
    return `never got ready in ${attempts} (restart.startRetries is ${policy.startRetries}); the last one: ${exit.summary}`;
  }
  if (startLimitHit(history.restartTimes, now, policy)) {
    const n = restartsInWindow(history.restartTimes, now, policy.window).length;
    return `restarted ${n === 1 ? 'once' : `${n} times`} within ${Math.round(policy.window / 1000)} s (restart.maxRestarts is ${policy.maxRestarts})`;
  }
  return null;
}

/** Why the instance waited out a backoff: the stop naija-sup made (a probe's), or a crash. */
export function backoffReason(exit: ExitInfo | null): 'crash' | 'startup-timeout' | 'liveness-failed' {
  return exit?.cause === 'startup-timeout' || exit?.cause === 'liveness-failed' ? exit.cause : 'crash';
}

/**
 * `ctx` with what the supervisor it replaces had seen (a blue/green reload, restart or rollback,
 * at promotion): its restarts, added to any of this one's, and its last exit while this one has
 * none, so `status` keeps the app's history. Its crash window and attempts are not carried: they
 * decide this instance's own restarts. A swap itself is not a restart (the restarts metric does
 * not count it either).
 */
export function inheritHistory<C extends { restarts: number; lastExit: ExitInfo | null }>(ctx: C, from: Pick<C, 'restarts' | 'lastExit'>): C {
  return { ...ctx, restarts: ctx.restarts + from.restarts, lastExit: ctx.lastExit ?? from.lastExit };
}
