/**
 * The instances the HTTP reload proxy (http-proxy.ts) sends requests to, and their lifecycle: one
 * {@link TargetState} per instance — its keep-alive pool, what is in flight or awaiting an answer
 * there, its counters — the slots taking new requests, an instance's retirement once nothing is in
 * flight to it (its pool closed, its counters kept), and the waits a reload makes until an instance
 * has drained. Split from http-proxy.ts, which keeps the path of a request; this is the bookkeeping
 * that path updates.
 */

import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { TargetSlots } from './http-proxy-balance.js';
import { checkPort, type HttpProxyTarget } from './http-proxy-options.js';
import { newCounters, snapshot, type HttpTargetStats, type TargetCounters } from './http-proxy-stats.js';
import type { UpstreamPool } from './http-upstream.js';
import { untilDrained } from './drain-wait.js';

/** Per-instance state: its pool, what is in flight to it, its counters. */
export interface TargetState {
  port: number;
  id: string;
  /** Its keep-alive pool (http-upstream.ts), made at its first request. */
  pool: UpstreamPool<unknown, TargetState> | null;
  inFlight: number;
  awaiting: number; // requests sent to it whose response head has not arrived: a reload waits for these
  tunnels: Set<Socket>;
  counters: TargetCounters;
}

/** Retired instances whose counters are still reported (the current one always is). */
const KEEP_RETIRED = 16;

/** Makes the pool of connections to an instance. */
export type PoolFactory = (state: TargetState) => UpstreamPool<unknown, TargetState>;

export class ProxyTargets {
  /**
   * The instances taking new requests, by slot (the app's instance index, issue 20); a request goes
   * to the one with the fewest in flight. `setTarget` is slot 0: one instance, as before.
   */
  readonly slots = new TargetSlots<TargetState>();
  private readonly states = new Map<number, TargetState>();
  private readonly retired: TargetCounters[] = [];
  /** 'drained' fires with a target's port whenever nothing is in flight, or awaiting an answer, at it any more. */
  private readonly drained = new EventEmitter<{ drained: [port: number] }>();

  constructor(private readonly newPool: PoolFactory) {
    this.drained.setMaxListeners(0);
  }

  /** Puts `next` in `slot` and releases the instance it replaces; returns the new state (null for none). */
  set(slot: number, next: HttpProxyTarget | null): TargetState | null {
    const state = next === null ? null : this.stateFor(next);
    const previous = this.slots.set(slot, state);
    if (previous !== null && previous !== state) this.release(previous);
    return state;
  }

  inFlight(targetPort?: number): number {
    if (targetPort !== undefined) return this.states.get(targetPort)?.inFlight ?? 0;
    let n = 0;
    for (const state of this.states.values()) n += state.inFlight;
    return n;
  }

  awaiting(targetPort: number): number {
    return this.states.get(targetPort)?.awaiting ?? 0;
  }

  /** The counters of the active instances, then the others still known, then the retired ones. */
  stats(): HttpTargetStats[] {
    const active = this.slots.active();
    const others = [...this.states.values()].filter((s) => !active.includes(s));
    return [
      ...active.map((s) => snapshot(s.counters, true, s.inFlight)),
      ...others.map((s) => snapshot(s.counters, false, s.inFlight)),
      ...this.retired.map((c) => snapshot(c, false, 0)),
    ];
  }

  /** Closes every tunnel and pooled connection (the proxy is closing). */
  destroyAll(): void {
    for (const state of this.states.values()) {
      for (const tunnel of state.tunnels) tunnel.destroy();
      state.pool?.destroy();
    }
  }

  /** Resolves true once `condition` holds (checked whenever a target drains), false after `timeoutMs`. */
  until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    return untilDrained(this.drained, condition, timeoutMs);
  }

  private stateFor(target: HttpProxyTarget): TargetState {
    checkPort('target', target.port);
    const known = this.states.get(target.port);
    if (known !== undefined && known.id === target.id) return known;
    if (known !== undefined) {
      // The port was reused by a new instance: the old one is gone, keep its counters only.
      known.pool?.destroy();
      this.remember(known.counters);
    }
    const state: TargetState = { port: target.port, id: target.id, pool: null, inFlight: 0, awaiting: 0, tunnels: new Set(), counters: newCounters(target.id, target.port) };
    this.states.set(target.port, state);
    return state;
  }

  private remember(counters: TargetCounters): void {
    this.retired.unshift(counters);
    this.retired.length = Math.min(this.retired.length, KEEP_RETIRED);
  }

  /** A retired target with nothing in flight: close its pooled connections, keep its counters. */
  private release(state: TargetState): void {
    if (this.slots.has(state) || state.inFlight > 0) return;
    state.pool?.destroy();
    state.pool = null;
    if (this.states.get(state.port) === state) this.states.delete(state.port);
    this.remember(state.counters);
  }

  /** A request (or tunnel) to `state` ended. */
  done(state: TargetState): void {
    state.inFlight -= 1;
    if (state.inFlight > 0) return;
    this.drained.emit('drained', state.port);
    if (!this.slots.has(state)) this.release(state);
  }

  /** A request to `state` got its response head, or ended without one: it no longer awaits. */
  answered(state: TargetState): void {
    state.awaiting -= 1;
    if (state.awaiting === 0) this.drained.emit('drained', state.port);
  }

  /** One pool per instance: retiring it is `pool.destroy()`. */
  poolOf(state: TargetState): UpstreamPool<unknown, TargetState> {
    return (state.pool ??= this.newPool(state));
  }
}
