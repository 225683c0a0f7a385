/**
 * The HTTP proxy's own counts on /metrics (issue 13): requests, responses by status class,
 * retries, upstream errors and request duration, per instance — the error rate measured where
 * requests pass, not inferred from crashes. The instance is the `target` label (its private port):
 * `instance` is Prometheus's own label for the scraped supervisor. The proxy only increments plain numbers on its hot
 * path (src/reload/http-proxy-stats.ts); these metrics read a snapshot at scrape time.
 */
import type { Registry } from 'prom-client';
import type { HttpProxyStats, HttpTargetStats } from '../reload/http-proxy.js';
import { METRIC_PREFIX } from './registry.js';

interface Sample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

interface ScrapedMetric {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  values: Sample[];
  aggregator: 'sum';
}

/** A metric prom-client's registry can print: its values come from `read()` at each scrape. */
function scraped(name: string, help: string, type: ScrapedMetric['type'], read: () => Sample[]): { name: string; get(): Promise<ScrapedMetric>; reset(): void } {
  return { name, get: () => Promise.resolve({ name, help, type, values: read(), aggregator: 'sum' }), reset: () => undefined };
}

const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

function perTarget(stats: HttpProxyStats | null, value: (t: HttpTargetStats) => number): Sample[] {
  return (stats?.targets ?? []).map((t) => ({ value: value(t), labels: { target: t.id } }));
}

function histogram(name: string, stats: HttpProxyStats | null): Sample[] {
  const out: Sample[] = [];
  for (const t of stats?.targets ?? []) {
    const { buckets, counts, sum, count } = t.duration;
    buckets.forEach((le, i) => out.push({ metricName: `${name}_bucket`, value: counts[i] ?? 0, labels: { target: t.id, le } }));
    out.push({ metricName: `${name}_bucket`, value: count, labels: { target: t.id, le: '+Inf' } });
    out.push({ metricName: `${name}_sum`, value: sum, labels: { target: t.id } });
    out.push({ metricName: `${name}_count`, value: count, labels: { target: t.id } });
  }
  return out;
}

/** Registers the proxy metrics (prefix `naija_sup_proxy_`) on `registry`; `stats` is null without an HTTP proxy. */
export function registerProxyMetrics(registry: Registry, stats: () => HttpProxyStats | null): void {
  const p = `${METRIC_PREFIX}proxy_`;
  const metrics = [
    scraped(`${p}requests_total`, 'Requests the proxy answered, by instance (target: its private port) and status class (a 502 the proxy answered on its behalf counts as 5xx).', 'counter', () => {
      const s = stats();
      return (s?.targets ?? []).flatMap((t) => CLASSES.map((c) => ({ value: t.responses[c], labels: { target: t.id, class: c } })));
    }),
    scraped(`${p}retries_total`, 'Idempotent requests that failed on an instance before any response byte and were sent again.', 'counter', () => perTarget(stats(), (t) => t.retries)),
    scraped(`${p}upstream_errors_total`, 'Failed exchanges with an instance (reset, refused, hang-up), retried or not.', 'counter', () => perTarget(stats(), (t) => t.upstreamErrors)),
    scraped(`${p}in_flight_requests`, 'Requests being forwarded to an instance right now, plus open WebSocket tunnels.', 'gauge', () => perTarget(stats(), (t) => t.inFlight)),
    scraped(`${p}queued_requests`, 'Requests waiting for an instance to be ready right now.', 'gauge', () => [{ value: stats()?.queued ?? 0, labels: {} }]),
    scraped(`${p}queue_timeouts_total`, 'Requests answered 503 because no instance got ready within proxy.queueTimeout.', 'counter', () => [{ value: stats()?.queueTimeouts ?? 0, labels: {} }]),
    scraped(`${p}request_duration_seconds`, 'Time from a request\'s arrival to the end of its response, by instance.', 'histogram', () => histogram(`${p}request_duration_seconds`, stats())),
  ];
  for (const metric of metrics) registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
}
