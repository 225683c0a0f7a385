/**
 * The startup probe's schedule (issue 19) with fake timers: backoff between probes, and the silent
 * check that wakes the next probe once something accepts connections, once per start, bounded.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LISTEN_CHECK_MAX_MS, LISTEN_CHECK_MS, StartupSchedule, listenCheckDelay, startupProbeDelay, type ScheduleClock } from '../../src/supervisor/startup-schedule.js';

const clock: ScheduleClock = { now: () => Date.now(), setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

/** An accepts check that says "open" from `openAt` ms (fake time) on, counting its calls. */
function port(openAt: number): { accepts: (s: AbortSignal) => Promise<boolean>; calls: () => number } {
  const t0 = Date.now();
  let calls = 0;
  return { accepts: () => { calls += 1; return Promise.resolve(Date.now() - t0 >= openAt); }, calls: () => calls };
}

describe('startupProbeDelay', () => {
  it('doubles from 10 ms and stops at health.interval', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map((n) => startupProbeDelay(n, 250))).toEqual([10, 20, 40, 80, 160, 250, 250, 250]);
    expect(startupProbeDelay(3, 15)).toBe(15);
  });
});

describe('listenCheckDelay', () => {
  it('starts at 5 ms and slows to at most 50 ms', () => {
    expect(listenCheckDelay(0)).toBe(LISTEN_CHECK_MS);
    expect(listenCheckDelay(1000)).toBe(15);
    expect(listenCheckDelay(4500)).toBe(LISTEN_CHECK_MAX_MS);
    expect(listenCheckDelay(3_600_000)).toBe(LISTEN_CHECK_MAX_MS);
  });
});

describe('StartupSchedule', () => {
  it('without a check: the next probe after exactly the delay', async () => {
    const schedule = new StartupSchedule(clock, new AbortController().signal);
    const next = vi.fn();
    schedule.wait(250, true, next);
    await vi.advanceTimersByTimeAsync(249);
    expect(next).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(next).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(next).toHaveBeenCalledTimes(1);
  });

  it('wakes the probe within one check of the port opening, once, and the delay does not call it again', async () => {
    const p = port(120);
    const schedule = new StartupSchedule(clock, new AbortController().signal, p.accepts);
    const next = vi.fn();
    schedule.wait(250, true, next);
    await vi.advanceTimersByTimeAsync(119);
    expect(next).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(listenCheckDelay(120) + 1);
    expect(next).toHaveBeenCalledTimes(1);
    const checks = p.calls();
    await vi.advanceTimersByTimeAsync(1000);
    expect(next).toHaveBeenCalledTimes(1);
    expect(p.calls()).toBe(checks);
  });

  it('wakes once per start: later waits keep their delay though the port accepts', async () => {
    const p = port(0);
    const schedule = new StartupSchedule(clock, new AbortController().signal, p.accepts);
    const first = vi.fn();
    schedule.wait(250, true, first);
    await vi.advanceTimersByTimeAsync(LISTEN_CHECK_MS);
    expect(first).toHaveBeenCalledTimes(1);
    const second = vi.fn();
    schedule.wait(250, true, second);
    await vi.advanceTimersByTimeAsync(249);
    expect(second).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(second).toHaveBeenCalledTimes(1);
    expect(p.calls()).toBe(1);
  });

  it('does not check when the last probe got an answer (the server is up, not ready): the backoff decides', async () => {
    const p = port(0);
    const schedule = new StartupSchedule(clock, new AbortController().signal, p.accepts);
    const next = vi.fn();
    schedule.wait(80, false, next);
    await vi.advanceTimersByTimeAsync(79);
    expect(next).not.toHaveBeenCalled();
    expect(p.calls()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(next).toHaveBeenCalledTimes(1);
  });

  it('is bounded: a port that never opens is checked at most 200 times a second, then at most 20', async () => {
    const p = port(Number.POSITIVE_INFINITY);
    const schedule = new StartupSchedule(clock, new AbortController().signal, p.accepts);
    // One long wait (health.interval of a minute) so that only the checks run.
    schedule.wait(60_000, true, vi.fn());
    await vi.advanceTimersByTimeAsync(1000);
    const firstSecond = p.calls();
    expect(firstSecond).toBeGreaterThan(50);
    expect(firstSecond).toBeLessThanOrEqual(200);
    await vi.advanceTimersByTimeAsync(9000);
    const tenSeconds = p.calls();
    await vi.advanceTimersByTimeAsync(1000);
    expect(p.calls() - tenSeconds).toBeLessThanOrEqual(20);
  });

  it('stops at once when the start\'s probes are aborted: no probe, no more checks', async () => {
    const p = port(Number.POSITIVE_INFINITY);
    const abort = new AbortController();
    const schedule = new StartupSchedule(clock, abort.signal, p.accepts);
    const next = vi.fn();
    schedule.wait(100, true, next);
    await vi.advanceTimersByTimeAsync(20);
    abort.abort();
    // Nothing of the schedule is left to keep an exiting supervisor alive.
    expect(vi.getTimerCount()).toBe(0);
    const checks = p.calls();
    await vi.advanceTimersByTimeAsync(1000);
    expect(next).not.toHaveBeenCalled();
    expect(p.calls()).toBe(checks);
  });
});
