/**
 * Per-instance counters of the HTTP reload proxy (issue 13): requests, responses by status class,
 * retries, upstream errors and a request-duration histogram with fixed buckets. Plain numbers, so
 * the hot path only increments; the supervisor turns a `stats()` snapshot into Prometheus metrics.
 */

/** Upper bounds of the duration histogram, seconds (prom-client's defaults: comparable dashboards). */
export const DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface DurationHistogram {
  /** Upper bounds, seconds; the last count (index `buckets.length`) is +Inf. */
  buckets: readonly number[];
  /** Cumulative, as Prometheus exposes them: counts[i] = requests that took <= buckets[i]. */
  counts: number[];
  /** Seconds, all observed requests. */
  sum: number;
  count: number;
}

export interface HttpTargetStats {
  /** The instance's id as given to setTarget. */
  id: string;
  port: number;
  /** Whether it is the current target (new requests go to it). */
  current: boolean;
  /** Requests answered by this instance (or by the proxy with 502 on its behalf). */
  requests: number;
  /** Requests being forwarded to it right now, plus open upgraded (WebSocket) tunnels. */
  inFlight: number;
  responses: { '1xx': number; '2xx': number; '3xx': number; '4xx': number; '5xx': number };
  /** Requests that failed on this instance before any response byte and were sent again. */
  retries: number;
  /** Failed exchanges with this instance (reset, refused, hang-up), retried or not. */
  upstreamErrors: number;
  duration: DurationHistogram;
}

export interface HttpProxyStats {
  /** Requests received from clients (upgrades included). */
  received: number;
  /** Requests waiting for an instance right now. */
  queued: number;
  /** Requests that waited for an instance at some point. */
  queuedTotal: number;
  /** Answered 503 because no instance became ready within queueTimeout. */
  queueTimeouts: number;
  /** Malformed requests, oversize headers and timed-out clients (answered 400/408/431 or closed). */
  clientErrors: number;
  /** Bodies refused with 413 (maxBodySize). */
  bodyTooLarge: number;
  /** Per instance, current first, then the most recent retired ones. */
  targets: HttpTargetStats[];
}

type Counters = Omit<HttpTargetStats, 'current' | 'inFlight' | 'duration'> & { duration: { counts: number[]; sum: number } };

export function newCounters(id: string, port: number): Counters {
  return {
    id,
    port,
    requests: 0,
    responses: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 },
    retries: 0,
    upstreamErrors: 0,
    // Not cumulative here (one increment per request); snapshot() accumulates.
    duration: { counts: new Array<number>(DURATION_BUCKETS.length + 1).fill(0), sum: 0 },
  };
}

export type TargetCounters = ReturnType<typeof newCounters>;

const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/** Counts one finished request: its status and how long it took from arrival to the last byte. */
export function observe(counters: TargetCounters, status: number, seconds: number): void {
  counters.requests += 1;
  const cls = CLASSES[Math.floor(status / 100) - 1];
  if (cls !== undefined) counters.responses[cls] += 1;
  let i = 0;
  while (i < DURATION_BUCKETS.length && seconds > (DURATION_BUCKETS[i] as number)) i += 1;
  counters.duration.counts[i] = (counters.duration.counts[i] ?? 0) + 1;
  counters.duration.sum += seconds;
}

export function snapshot(counters: TargetCounters, current: boolean, inFlight: number): HttpTargetStats {
  const counts: number[] = [];
  let running = 0;
  for (const n of counters.duration.counts) {
    running += n;
    counts.push(running);
  }
  return {
    id: counters.id,
    port: counters.port,
    current,
    requests: counters.requests,
    inFlight,
    responses: { ...counters.responses },
    retries: counters.retries,
    upstreamErrors: counters.upstreamErrors,
    duration: { buckets: DURATION_BUCKETS, counts, sum: counters.duration.sum, count: running },
  };
}
