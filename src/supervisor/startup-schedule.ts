/**
 * When the startup probe runs (issue 19). At once after the spawn, then after 10, 20, 40, 80,
 * 160 ms, then every health.interval: each probe is a request the server sees and a line in the
 * log, so they back off. Between two of them, while nothing answered the last one, a silent check
 * (a TCP connect to where the probe goes, which a server that does not listen yet refuses at once)
 * runs every few ms; when something accepts, the next probe runs right away instead of at the end
 * of its wait. So a server is noticed within a few ms of opening its port, whenever it does, while
 * the probes themselves stay few. The check wakes the probe once per start: in handoff mode the
 * shared socket accepts from the start, and a server listening on another host keeps refusing the
 * probe; neither may turn into a flood of probes.
 *
 * Readiness is still the probe's verdict alone: the check only moves the next probe earlier. A
 * server that opens its port before it is ready (503 first) is probed, found not ready, and
 * probed again on the backoff schedule.
 */

/** The first retry of the startup probe: short, because most servers bind within tens of ms. */
export const FIRST_PROBE_RETRY_MS = 10;

/**
 * The wait before startup probe attempt `n + 1` after `n` failed ones: 10, 20, 40, 80, 160 ms, then
 * health.interval (a slow starter gets at most ~6 probes in its first second, then one per interval).
 */
export function startupProbeDelay(failed: number, interval: number): number {
  return Math.min(interval, FIRST_PROBE_RETRY_MS * 2 ** Math.max(0, failed - 1));
}

/** The silent check's first cadence, and its slowest: at most 200 connects/s, then at most 20/s. */
export const LISTEN_CHECK_MS = 5;
export const LISTEN_CHECK_MAX_MS = 50;

/**
 * The wait between two silent checks, `sinceMs` after the start's first probe: 5 ms, one ms more
 * per 100 ms, at most 50 ms (from 4.5 s on). A server that takes 30 s to boot is connected to
 * about 700 times, each a refused loopback connect (tens of µs).
 */
export function listenCheckDelay(sinceMs: number): number {
  return Math.min(LISTEN_CHECK_MAX_MS, LISTEN_CHECK_MS + Math.floor(Math.max(0, sinceMs) / 100));
}

/** The timers the schedule needs (the runner's Clock). */
export interface ScheduleClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Whether something accepts connections where the startup probe goes (never rejects). */
export type AcceptsCheck = (signal: AbortSignal) => Promise<boolean>;

/** The waits between one start's startup probes. One per start: it remembers that it woke the probe. */
export class StartupSchedule {
  private woke = false;
  private readonly since: number;

  constructor(
    private readonly clock: ScheduleClock,
    private readonly signal: AbortSignal,
    private readonly accepts?: AcceptsCheck,
  ) {
    this.since = clock.now();
  }

  /**
   * Calls `next` once: after `delay` ms, or earlier when `nothingAnswered` and the silent check
   * finds the port accepting (once per start). Never after the start's probes were aborted.
   */
  wait(delay: number, nothingAnswered: boolean, next: () => void): void {
    let fired = false;
    let check: unknown = null;
    const clear = (): void => {
      this.clock.clearTimeout(timer);
      if (check !== null) this.clock.clearTimeout(check);
      this.signal.removeEventListener('abort', clear);
    };
    const fire = (): void => {
      if (fired || this.signal.aborted) return;
      fired = true;
      clear();
      next();
    };
    const timer = this.clock.setTimeout(fire, delay);
    // Aborted (ready, stopping): no timer of ours may keep a supervisor that is exiting alive.
    this.signal.addEventListener('abort', clear, { once: true });
    const accepts = this.accepts;
    if (!nothingAnswered || this.woke || accepts === undefined) return;
    const look = (): void => {
      check = null;
      if (fired || this.signal.aborted) return;
      void accepts(this.signal).then((open) => {
        if (fired || this.signal.aborted) return;
        if (open) {
          this.woke = true;
          fire();
          return;
        }
        check = this.clock.setTimeout(look, listenCheckDelay(this.clock.now() - this.since));
      }, () => undefined); // a check that failed ends the checks; the probes go on
    };
    check = this.clock.setTimeout(look, listenCheckDelay(this.clock.now() - this.since));
  }
}
