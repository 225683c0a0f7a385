import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CrashRate, MAX_TRACKED_CRASHES } from '../../src/metrics/crash-rate.js';

describe('CrashRate (fake timers drive Date.now)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2025-01-01T00:00:00Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('counts crashes per minute over a sliding window and forgets the old ones', () => {
    const rate = new CrashRate({ threshold: null });
    expect(rate.perMinute()).toBe(0);
    rate.record();
    vi.advanceTimersByTime(10_000);
    rate.record();
    vi.advanceTimersByTime(10_000);
    rate.record();
    expect(rate.perMinute()).toBe(3);
    // 60 s after the first crash it leaves the window (a crash exactly windowMs old is out).
    vi.advanceTimersByTime(40_000);
    expect(rate.count()).toBe(2);
    vi.advanceTimersByTime(10_000);
    expect(rate.perMinute()).toBe(1);
    vi.advanceTimersByTime(10_000);
    expect(rate.perMinute()).toBe(0);
  });

  it('normalises to per-minute for other windows', () => {
    const rate = new CrashRate({ threshold: null, windowMs: 30_000 });
    rate.record();
    rate.record();
    rate.record();
    expect(rate.perMinute()).toBe(6);
    vi.advanceTimersByTime(30_000);
    expect(rate.perMinute()).toBe(0);
  });

  it('warns once on the crash that takes the rate above the threshold, and again after it fell back', () => {
    const rate = new CrashRate({ threshold: 2 });
    expect(rate.record()).toBeNull();
    vi.advanceTimersByTime(1000);
    expect(rate.record()).toBeNull(); // 2 per minute: at, not above
    vi.advanceTimersByTime(1000);
    const warning = rate.record();
    expect(warning).toMatchObject({ type: 'warning' });
    expect(warning?.type === 'warning' ? warning.message : '').toMatch(/crash rate 3 per minute is above alerts\.crashRate \(2\): 3 crashes in the last 1 min/);
    expect(warning?.type === 'warning' ? warning.fix : '').toMatch(/lastExit/);
    // Still above: no repeat for every further crash.
    vi.advanceTimersByTime(1000);
    expect(rate.record()).toBeNull();
    expect(rate.perMinute()).toBe(4);
    // A quiet minute: the rate falls to 0; the next burst warns again.
    vi.advanceTimersByTime(60_000);
    expect(rate.perMinute()).toBe(0);
    expect(rate.record()).toBeNull();
    expect(rate.record()).toBeNull();
    expect(rate.record()).toMatchObject({ type: 'warning' });
  });

  it('never warns without a threshold', () => {
    const rate = new CrashRate({ threshold: null });
    for (let i = 0; i < 50; i += 1) expect(rate.record()).toBeNull();
    expect(rate.perMinute()).toBe(50);
  });

  it('takes an injected clock', () => {
    let now = 1_000_000;
    const rate = new CrashRate({ threshold: 0, now: () => now });
    expect(rate.record()).toMatchObject({ type: 'warning' });
    now += 59_999;
    expect(rate.perMinute()).toBe(1);
    now += 1;
    expect(rate.perMinute()).toBe(0);
  });

  it('bounds its memory in a crash storm', () => {
    const rate = new CrashRate({ threshold: null });
    for (let i = 0; i < MAX_TRACKED_CRASHES + 500; i += 1) rate.record();
    expect(rate.count()).toBe(MAX_TRACKED_CRASHES);
  });

  it('rejects a window that is not a positive number', () => {
    expect(() => new CrashRate({ threshold: 1, windowMs: 0 })).toThrow(RangeError);
    expect(() => new CrashRate({ threshold: 1, windowMs: Number.NaN })).toThrow(/positive/);
  });
});
