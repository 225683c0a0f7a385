/**
 * The error rate of issue 7: crashes per minute over a sliding window, and the alert that fires when
 * it crosses `alerts.crashRate`.
 *
 * Pure apart from the clock, which is injected (it defaults to `Date.now`, so `vi.useFakeTimers`
 * drives it in tests). It keeps only the timestamps inside the window, so its memory is bounded by
 * how many crashes can fit in one window (and by {@link MAX_TRACKED_CRASHES} regardless).
 */
import type { SupervisorEvent } from '../supervisor/events.js';

/** The default window: one minute, so the rate is simply "crashes in the last minute". */
export const DEFAULT_CRASH_WINDOW_MS = 60_000;

/** A hard cap on remembered timestamps, whatever the window: a crash loop must not grow memory. */
export const MAX_TRACKED_CRASHES = 10_000;

export interface CrashRateOptions {
  /** Crashes per minute *above* which the warning fires; null = no alert (the gauge still works). */
  threshold: number | null;
  /** Length of the sliding window, ms (default 60 s). The rate is normalised to per-minute. */
  windowMs?: number | undefined;
  /** Wall or monotonic ms; default `Date.now`. */
  now?: (() => number) | undefined;
}

/**
 * Crashes per minute over a sliding window.
 *
 * The alert is edge-triggered: it fires on the crash that takes the rate from at-or-below the
 * threshold to above it, and not again until the rate has come back down. The rate only rises at a
 * crash (it decays continuously in between), so comparing the rate just before and just after each
 * crash finds every crossing without a timer.
 */
export class CrashRate {
  readonly windowMs: number;
  readonly threshold: number | null;
  private readonly now: () => number;
  private times: number[] = [];

  constructor(options: CrashRateOptions) {
    const windowMs = options.windowMs ?? DEFAULT_CRASH_WINDOW_MS;
    if (!Number.isFinite(windowMs) || windowMs <= 0) {
      throw new RangeError(`crash-rate window must be a positive number of ms, got ${String(windowMs)}`);
    }
    this.windowMs = windowMs;
    this.threshold = options.threshold;
    this.now = options.now ?? Date.now;
  }

  /**
   * Records one crash (now, or at `at`) and returns the warning event when this crash makes the
   * rate cross the threshold, else null. The caller emits the event into the supervisor's stream.
   */
  record(at: number = this.now()): SupervisorEvent | null {
    const before = this.perMinute(at);
    this.times.push(at);
    if (this.times.length > MAX_TRACKED_CRASHES) this.times.splice(0, this.times.length - MAX_TRACKED_CRASHES);
    const after = this.perMinute(at);
    const threshold = this.threshold;
    if (threshold === null || !(before <= threshold && after > threshold)) return null;
    return {
      type: 'warning',
      message: `crash rate ${formatRate(after)} per minute is above alerts.crashRate (${formatRate(threshold)}): ${this.count(at)} crashes in the last ${formatWindow(this.windowMs)}`,
      fix: "look at the last exits (naija-sup status, or /health's instance.lastExit) for the cause; the restart policy keeps restarting it, waiting up to restart.maxDelay between tries (or until restart.maxRestarts, if set, is hit)",
    };
  }

  /** Crashes inside the window ending at `at`. */
  count(at: number = this.now()): number {
    this.prune(at);
    return this.times.length;
  }

  /** Crashes per minute over the window ending at `at`. */
  perMinute(at: number = this.now()): number {
    return (this.count(at) * 60_000) / this.windowMs;
  }

  /** Drops timestamps that left the window (a crash exactly `windowMs` ago is out). */
  private prune(at: number): void {
    const oldest = at - this.windowMs;
    let drop = 0;
    while (drop < this.times.length && (this.times[drop] ?? 0) <= oldest) drop += 1;
    if (drop > 0) this.times.splice(0, drop);
  }
}

function formatRate(rate: number): string {
  return Number.isInteger(rate) ? String(rate) : rate.toFixed(2);
}

function formatWindow(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 1000)} s`;
}
