/**
 * The three kinds of clients the reload tests put on a server while it is swapped (issue 13),
 * shared by the handoff-drain tests (handoff-drain-swap.ts, no supervisor) and the zero-downtime
 * matrix through the supervisor (supervised.ts):
 *
 * - `keep-alive`: 4 clients reusing connections (node:http Agent with keepAlive);
 * - `new-connection`: 4 clients opening one connection per request;
 * - `mixed`: 2 keep-alive + 2 new-connection clients on a fast route, and 3 new-connection clients on a route
 *   that answers after `slowMs` (≥ 1 s), so that long requests are in flight at every switch.
 */
import { runLoad, type LoadResult } from '../../src/reload/load.js';

export type ClientKind = 'keep-alive' | 'new-connection' | 'mixed';
export const CLIENT_KINDS: readonly ClientKind[] = ['keep-alive', 'new-connection', 'mixed'];

/** The two routes the clients ask. */
export interface LoadRoutes {
  /** Answers 200 with the instance's pid as its whole body, or a JSON body with `"pid"`. */
  pidPath: string;
  /** Answers 200 after about `ms`. */
  slowPath: (ms: number) => string;
}

export interface Loads {
  /** One result per client group: [fast] or, for `mixed`, [keep-alive, new-connection, slow]. */
  results: Promise<LoadResult[]>;
  /** Stops issuing requests; in-flight ones finish. */
  abort(): void;
  /** 200 answers per pid (from the fast route's bodies). */
  answeredBy: Map<number, number>;
}

export interface SlowAnswer {
  status: number;
  /**
   * When the request was sent and when its answer ended: ms since the epoch, with a fraction — from
   * the monotonic clock ({@link now}), so that sentAt is exactly when the request was sent. (Date.now()
   * minus the latency was rounded to the ms: the three long-request clients run in step, so a kill
   * taken in the millisecond their answers ended saw none of the requests they had just sent as in
   * flight, "[3,3,0]".)
   */
  sentAt: number;
  endedAt: number;
}

/** Now, in ms since the epoch with a fraction, from the monotonic clock: compare with {@link SlowAnswer}'s times. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** The pid in a body: `1234` (/pid) or `{"pid":1234,…}` (the example's /alive). */
export function pidOf(body: string): number | null {
  const match = /^\s*(\d+)\s*$/.exec(body) ?? /"pid"\s*:\s*(\d+)/.exec(body);
  return match?.[1] === undefined ? null : Number(match[1]);
}

/** Starts `kind`'s clients on 127.0.0.1:`port`; `onSlow` hears every answered long request (mixed). */
export function startLoads(port: number, routes: LoadRoutes, kind: ClientKind, slowMs: number, onSlow?: (answer: SlowAnswer) => void): Loads {
  const controller = new AbortController();
  const answeredBy = new Map<number, number>();
  const record = (response: { status: number; body: string }): void => {
    const pid = response.status === 200 ? pidOf(response.body) : null;
    if (pid !== null) answeredBy.set(pid, (answeredBy.get(pid) ?? 0) + 1);
  };
  const common = { port, durationMs: 9 * 60_000, requestTimeout: 20_000, signal: controller.signal, onResponse: record };
  const runs: Promise<LoadResult>[] = [];
  if (kind === 'keep-alive') runs.push(runLoad({ ...common, path: routes.pidPath, concurrency: 4, keepAlive: true }));
  if (kind === 'new-connection') runs.push(runLoad({ ...common, path: routes.pidPath, concurrency: 4, keepAlive: false }));
  if (kind === 'mixed') {
    runs.push(runLoad({ ...common, path: routes.pidPath, concurrency: 2, keepAlive: true }));
    runs.push(runLoad({ ...common, path: routes.pidPath, concurrency: 2, keepAlive: false }));
    const slow = onSlow === undefined ? undefined : (response: { status: number; latencyMs: number }): void => {
      const endedAt = now();
      onSlow({ status: response.status, sentAt: endedAt - response.latencyMs, endedAt });
    };
    runs.push(runLoad({ ...common, path: routes.slowPath(slowMs), concurrency: 3, keepAlive: false, onResponse: slow }));
  }
  return { results: Promise.all(runs), abort: () => controller.abort(), answeredBy };
}
