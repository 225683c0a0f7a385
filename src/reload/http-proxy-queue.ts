/**
 * Requests of the HTTP reload proxy waiting for an instance (issue 13): while none takes requests
 * (a crash restart, `setTarget(null)`), or after the only one refused a connection. Each waits
 * until a target is offered or until `timeoutMs` after its *arrival* (a retried request gets no
 * second wait). One timer per waiting request: this is the rare path, never the per-request one.
 */

/** What the queue needs of a request: when it arrived (`performance.now()`, ms). */
export interface Queueable {
  readonly start: number;
}

interface Entry<T> {
  timer: NodeJS.Timeout;
  resume: (target: T) => void;
  timeout: () => void;
}

export class WaitQueue<R extends Queueable, T> {
  private readonly entries = new Map<R, Entry<T>>();

  constructor(private readonly timeoutMs: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** Queues `request`: `resume(target)` once one is offered, or `timeout()` when its wait is up. */
  add(request: R, resume: (target: T) => void, timeout: () => void): void {
    const left = Math.max(0, this.timeoutMs - (performance.now() - request.start));
    const entry: Entry<T> = {
      timer: setTimeout(() => {
        this.remove(request);
        timeout();
      }, left),
      resume,
      timeout,
    };
    this.entries.set(request, entry);
  }

  /** Takes `request` out without calling either callback (its client went away). */
  remove(request: R): void {
    const entry = this.entries.get(request);
    if (entry === undefined) return;
    clearTimeout(entry.timer);
    this.entries.delete(request);
  }

  /** Resumes, in arrival order, every request `pick` finds a target for (null: it keeps waiting). */
  offer(pick: (request: R) => T | null): void {
    for (const [request, entry] of [...this.entries]) {
      if (!this.entries.has(request)) continue;
      const target = pick(request);
      if (target === null) continue;
      this.remove(request);
      entry.resume(target);
    }
  }

  /** Ends every wait now, as if its time were up (the proxy is closing). */
  timeoutAll(): void {
    for (const [request, entry] of [...this.entries]) {
      if (!this.entries.has(request)) continue;
      this.remove(request);
      entry.timeout();
    }
  }
}
