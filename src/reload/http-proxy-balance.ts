/**
 * The instances the HTTP proxy sends new requests to (issue 20), by slot — the app's instance
 * index — and the choice among them: least outstanding requests. Apart from http-proxy.ts so that
 * the rule can be read (and tested) alone; it knows a target only by its in-flight count.
 */

export interface Balanced {
  inFlight: number;
}

export class TargetSlots<T extends Balanced> {
  private readonly slots = new Map<number, T>();
  /** Where the search for the least busy starts: ties (an idle app) are spread, not all on slot 0. */
  private turn = 0;

  /** Puts `target` in `slot` (null: empties it); returns what was there. */
  set(slot: number, target: T | null): T | null {
    const previous = this.slots.get(slot) ?? null;
    if (target === null) this.slots.delete(slot);
    else this.slots.set(slot, target);
    return previous;
  }

  /** The target in the lowest slot set first, or null. */
  first(): T | null {
    return this.slots.values().next().value ?? null;
  }

  /** Every target taking new requests, once each. */
  active(): T[] {
    return [...new Set(this.slots.values())];
  }

  /** Whether `target` takes new requests (some slot holds it). */
  has(target: T): boolean {
    for (const t of this.slots.values()) if (t === target) return true;
    return false;
  }

  /**
   * The target with the fewest requests in flight, other than `avoid` (the one a retried request
   * just failed on) while another one is there; null when there is none.
   */
  pick(avoid: T | null = null): T | null {
    const active = this.active();
    const n = active.length;
    if (n <= 1) return active[0] ?? null;
    this.turn = (this.turn + 1) % n;
    let best: T | null = null;
    for (let k = 0; k < n; k += 1) {
      const t = active[(this.turn + k) % n] as T;
      if (t === avoid) continue;
      if (best === null || t.inFlight < best.inFlight) best = t;
    }
    return best ?? avoid;
  }
}
