/**
 * The restart policy's arithmetic (src/supervisor/backoff.ts) at its edges: the window's end, the
 * start-retry count, the delay cap and the jitter bounds.
 */
import { describe, expect, it } from 'vitest';
import { backoffDelay, giveUpReason, restartsInWindow, startLimitHit } from '../../src/supervisor/backoff.js';

describe('restartsInWindow', () => {
  it('keeps a restart exactly one window old out, and one a millisecond younger in', () => {
    // The window is the last `windowMs` milliseconds before now: (now − windowMs, now].
    expect(restartsInWindow([40_000, 40_001, 99_999, 100_000], 100_000, 60_000)).toEqual([40_001, 99_999, 100_000]);
    expect(restartsInWindow([39_999], 100_000, 60_000)).toEqual([]);
    expect(restartsInWindow([], 100_000, 60_000)).toEqual([]);
  });
});

describe('startLimitHit', () => {
  const policy = { maxRestarts: 3, window: 60_000 };

  it('is hit when maxRestarts restarts are inside the window, not one fewer', () => {
    expect(startLimitHit([50_000, 60_000, 70_000], 100_000, policy)).toBe(true);
    expect(startLimitHit([60_000, 70_000], 100_000, policy)).toBe(false);
  });

  it('stops counting a restart as soon as it is a whole window old', () => {
    expect(startLimitHit([40_000, 60_000, 70_000], 100_000, policy)).toBe(false);
    expect(startLimitHit([40_001, 60_000, 70_000], 100_000, policy)).toBe(true);
  });

  it('is never hit without maxRestarts, and at once with maxRestarts 0', () => {
    expect(startLimitHit([99_000, 99_500, 99_900], 100_000, { maxRestarts: null, window: 60_000 })).toBe(false);
    expect(startLimitHit([], 100_000, { maxRestarts: 0, window: 60_000 })).toBe(true);
  });
});

describe('backoffDelay', () => {
  const policy = { initialDelay: 100, maxDelay: 1000, factor: 3 };

  it('is 0 for the first attempt (and anything below it), then initialDelay × factor^(attempt − 2)', () => {
    expect(backoffDelay(0, policy, () => 0.5)).toBe(0);
    expect(backoffDelay(1, policy, () => 0.5)).toBe(0);
    expect(backoffDelay(2, policy, () => 0.5)).toBe(100);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(300);
    expect(backoffDelay(4, policy, () => 0.5)).toBe(900);
  });

  it('caps the base at maxDelay before the jitter', () => {
    expect(backoffDelay(5, policy, () => 0.5)).toBe(1000);
    expect(backoffDelay(5, policy, () => 0)).toBe(900);
    expect(backoffDelay(5, policy, () => 0.999_999_9)).toBe(1100);
  });

  it('jitters by at most ±10%, rounded to whole milliseconds', () => {
    expect(backoffDelay(2, policy, () => 0.25)).toBe(95);
    expect(backoffDelay(2, policy, () => 0.75)).toBe(105);
    expect(backoffDelay(2, { initialDelay: 7, maxDelay: 1000, factor: 2 }, () => 0.5)).toBe(7);
    expect(backoffDelay(2, { initialDelay: 0, maxDelay: 1000, factor: 2 }, () => 0)).toBe(0);
  });
});

describe('giveUpReason', () => {
  const policy = { startRetries: 2, maxRestarts: null, window: 60_000 };
  const crash = { cause: 'exit-code' as const, summary: 'exited with code 1' };

  it('gives up at once on a failure that a restart cannot heal, even after a first ready', () => {
    const history = { attempt: 1, everReady: true, restartTimes: [] };
    expect(giveUpReason({ cause: 'port-in-use', summary: '' }, history, 0, policy)).toBe('the port is in use by another process; restarting would fail the same way');
    expect(giveUpReason({ cause: 'permission-denied', summary: '' }, history, 0, policy)).toBe('not allowed to bind the port; restarting would fail the same way');
    expect(giveUpReason({ cause: 'module-not-found', summary: '' }, history, 0, policy)).toBe('a module is missing; restarting would fail the same way');
    expect(giveUpReason({ cause: 'native-module', summary: '' }, history, 0, policy)).toBe('a native module cannot be loaded in this runtime; restarting would fail the same way');
  });

  it('before a first ready, allows startRetries more attempts after the first, then names the count', () => {
    expect(giveUpReason(crash, { attempt: 2, everReady: false, restartTimes: [] }, 0, policy)).toBeNull();
    expect(giveUpReason(crash, { attempt: 3, everReady: false, restartTimes: [] }, 0, policy)).toBe(
      'never got ready in 3 attempts (restart.startRetries is 2); the last one: exited with code 1',
    );
    expect(giveUpReason(crash, { attempt: 1, everReady: false, restartTimes: [] }, 0, { ...policy, startRetries: 0 })).toBe(
      'never got ready in 1 attempt (restart.startRetries is 0); the last one: exited with code 1',
    );
  });

  it('after a first ready, never gives up on attempts alone', () => {
    expect(giveUpReason(crash, { attempt: 50, everReady: true, restartTimes: [] }, 0, policy)).toBeNull();
  });

  it('with maxRestarts, gives up once the window holds that many, naming them and the window in seconds', () => {
    const limited = { startRetries: 2, maxRestarts: 2, window: 90_000 };
    const ready = (restartTimes: number[]) => ({ attempt: 1, everReady: true, restartTimes });
    expect(giveUpReason(crash, ready([95_000]), 100_000, limited)).toBeNull();
    expect(giveUpReason(crash, ready([10_000, 95_000]), 100_000, limited)).toBeNull();
    expect(giveUpReason(crash, ready([10_001, 95_000]), 100_000, limited)).toBe('restarted 2 times within 90 s (restart.maxRestarts is 2)');
    expect(giveUpReason(crash, ready([99_000]), 100_000, { ...limited, maxRestarts: 1, window: 1_499 })).toBe('restarted once within 1 s (restart.maxRestarts is 1)');
  });
});
