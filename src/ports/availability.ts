/**
 * Is the port really free? A /proc answer says who holds it; only a bind on the exact host proves
 * it can be taken — and only for that instant: another process can take it a millisecond later,
 * so the child's own bind stays the source of truth (STYLE.md lesson 8).
 */

import { createServer } from 'node:net';
import type { Proc } from '../process/proc-read.js';
import { findPortOwners, type FindPortOwnersOptions, type PortOwnersAnswer } from './owners.js';

/** `true`: bound and released. `false`: EADDRINUSE. `{error}`: any other bind failure (EACCES, EADDRNOTAVAIL…). */
export type CanBindResult = boolean | { error: string };

/**
 * Binds `host:port` for real (as the server would: Node sets SO_REUSEADDR, so TIME_WAIT leftovers
 * of servers that also set it do not block) and closes it at once. `host` undefined = `::`
 * dual-stack, Node's default. "localhost" probes 127.0.0.1 and then ::1, because Node may pick
 * either; a machine without IPv6 (EADDRNOTAVAIL/EAFNOSUPPORT on ::1) is fine.
 */
export async function canBind(host: string | undefined, port: number): Promise<CanBindResult> {
  if (host?.toLowerCase() === 'localhost') {
    const v4 = await bindOnce('127.0.0.1', port);
    if (v4 !== true) return v4;
    const v6 = await bindOnce('::1', port);
    if (typeof v6 === 'object' && (v6.error === 'EADDRNOTAVAIL' || v6.error === 'EAFNOSUPPORT')) return true;
    return v6;
  }
  return bindOnce(host, port);
}

function bindOnce(host: string | undefined, port: number): Promise<CanBindResult> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      server.close(() => undefined);
      resolve(error.code === 'EADDRINUSE' ? false : { error: error.code ?? error.message });
    });
    // exclusive: a cluster worker must not be handed the primary's handle: we probe the kernel.
    server.listen({ host, port, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

export interface WaitUntilFreeOptions {
  port: number;
  host?: string | undefined;
  /** Give up after this many ms. */
  timeout: number;
  /** Pause between attempts, ms. */
  interval: number;
  proc?: Proc | undefined;
  /** Injected for tests: the owner lookup and the bind probe. */
  lookup?: ((options: FindPortOwnersOptions) => Promise<PortOwnersAnswer>) | undefined;
  probe?: ((host: string | undefined, port: number) => Promise<CanBindResult>) | undefined;
}

export interface WaitUntilFreeResult {
  /** True when the lookup found no owner and a real bind succeeded. */
  free: boolean;
  waitedMs: number;
  /** The last lookup answer (for the error message when not free). */
  last: PortOwnersAnswer;
  /** The last bind probe, when one ran. */
  bind?: CanBindResult | undefined;
  attempts: number;
}

/**
 * Polls until `host:port` can be bound, or the deadline passes. Each attempt looks up the owners
 * and, when none is left (`free`, or only `time-wait`, which a server with SO_REUSEADDR binds
 * over), confirms with a real bind. Used after stopping a stale server: the kernel frees the port
 * a moment after the process dies.
 */
export async function waitUntilFree(options: WaitUntilFreeOptions): Promise<WaitUntilFreeResult> {
  const { port, host, timeout, interval } = options;
  const lookup = options.lookup ?? findPortOwners;
  const probe = options.probe ?? canBind;
  const started = Date.now();
  // Bounded by time and, should the clock misbehave, by count.
  const maxAttempts = Math.max(1, Math.ceil(timeout / Math.max(1, interval)) + 1);
  for (let attempt = 1; ; attempt += 1) {
    const last = await lookup({ port, host, proc: options.proc });
    let bind: CanBindResult | undefined;
    if (last.kind === 'free' || last.kind === 'time-wait') {
      bind = await probe(host, port);
      if (bind === true) return { free: true, waitedMs: Date.now() - started, last, bind, attempts: attempt };
    }
    const remaining = timeout - (Date.now() - started);
    if (remaining <= 0 || attempt >= maxAttempts) {
      return { free: false, waitedMs: Date.now() - started, last, bind, attempts: attempt };
    }
    await new Promise<void>((resolve) => setTimeout(resolve, Math.min(interval, remaining)));
  }
}
