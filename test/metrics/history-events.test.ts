/**
 * The dashboard history's bookkeeping: which events make the instance count as ready in the
 * chart, the bounded lists of starts and exits, the probes by kind, a sample whose usage read
 * fails, and proxy metrics read from a registry that lacks labels or the duration histogram.
 */
import { describe, expect, it } from 'vitest';
import { DashboardHistory, PROXY_DURATION_METRIC, PROXY_REQUESTS_METRIC, proxyRates, quantileMs, readProxyTotals, type DashboardHistoryOptions } from '../../src/metrics/history.js';
import type { ExitInfo } from '../../src/supervisor/events.js';

/** Metrics whose usage sample fails (the instance vanished mid-read) and whose registry is empty. */
function failingMetrics(): DashboardHistoryOptions['metrics'] {
  return {
    usage: null,
    sample: () => Promise.reject(new Error('ESRCH')),
    crashes: { perMinute: () => 0 },
    registry: { getSingleMetric: () => undefined },
  } as unknown as DashboardHistoryOptions['metrics'];
}

const exit: ExitInfo = { code: 1, signal: null, cause: 'exit-code', summary: 'exited with code 1', fix: 'read stderr', at: 5, uptimeMs: 10, stderrTail: [] };

describe('DashboardHistory events', () => {
  it('charts ready only while the instance is ready and readiness passes', async () => {
    const history = new DashboardHistory({ metrics: failingMetrics(), intervalMs: 0 });
    history.handle({ type: 'ready', instance: 1, pid: 10, readyInMs: 100, url: 'http://127.0.0.1:1' });
    await history.sample();
    history.handle({ type: 'readiness-changed', instance: 1, ready: false, detail: 'HTTP 503' });
    await history.sample();
    history.handle({ type: 'readiness-changed', instance: 1, ready: true, detail: 'HTTP 200' });
    await history.sample();
    history.handle({ type: 'liveness-failed', instance: 1, failures: 3, detail: 'HTTP 500' });
    await history.sample();
    history.handle({ type: 'restarting', reason: 'liveness-failed' }); // says nothing about readiness
    await history.sample();
    expect(history.columns.ready).toEqual([1, 0, 1, 0, 0]);
    // The usage read failed every time: no memory or CPU figure rather than a made-up one.
    expect(history.columns.rssMb).toEqual([null, null, null, null, null]);
    expect(history.columns.cpuPercent).toEqual([null, null, null, null, null]);
    history.close();
  });

  it('keeps the last 20 starts and the last 10 exits, newest first', () => {
    const history = new DashboardHistory({ metrics: failingMetrics(), intervalMs: 0 });
    for (let pid = 1; pid <= 25; pid += 1) {
      history.handle({ type: 'ready', instance: pid, pid, readyInMs: 1, url: '' });
      history.handle({ type: 'exited', instance: pid, pid, expected: false, exit });
    }
    expect(history.starts.map((s) => s.pid)).toEqual(Array.from({ length: 20 }, (_, i) => 25 - i));
    expect(history.exits.map((e) => e.pid)).toEqual(Array.from({ length: 10 }, (_, i) => 25 - i));
    history.close();
  });

  it('files a probe without a kind as the startup probe, and each kind apart', () => {
    let now = 1000;
    const history = new DashboardHistory({ metrics: failingMetrics(), intervalMs: 0, now: () => now });
    history.handle({ type: 'probe', instance: 1, ok: false, detail: 'refused', latencyMs: 1, first: true });
    now = 2000;
    history.handle({ type: 'probe', instance: 1, probe: 'readiness', ok: true, detail: 'HTTP 200', latencyMs: 2, first: false });
    expect(history.probes).toEqual({
      startup: { ok: false, detail: 'refused', latencyMs: 1, at: 1000 },
      readiness: { ok: true, detail: 'HTTP 200', latencyMs: 2, at: 2000 },
    });
    history.close();
  });
});

describe('proxy metrics from a registry', () => {
  const metric = (values: unknown[]): { get: () => Promise<{ values: unknown[] }> } => ({ get: () => Promise.resolve({ values }) });

  it('counts requests without a class label as "other", and reads no buckets without the duration histogram', async () => {
    const registry = { getSingleMetric: (name: string) => (name === PROXY_REQUESTS_METRIC ? metric([{ labels: {}, value: 3 }, { labels: { class: '2xx' }, value: 4 }]) : undefined) };
    const totals = await readProxyTotals(registry as never);
    expect(totals).toEqual({ byClass: new Map([['other', 3], ['2xx', 4]]), buckets: [] });
  });

  it('reads only the _bucket series of the duration histogram', async () => {
    const registry = {
      getSingleMetric: (name: string) => (name === PROXY_REQUESTS_METRIC
        ? metric([])
        : name === PROXY_DURATION_METRIC
          ? metric([{ labels: { le: '0.1' }, value: 2, metricName: `${PROXY_DURATION_METRIC}_bucket` }, { labels: {}, value: 9 }, { labels: { le: '+Inf' }, value: 2, metricName: `${PROXY_DURATION_METRIC}_bucket` }])
          : undefined),
    };
    expect((await readProxyTotals(registry as never))?.buckets).toEqual([[0.1, 2], [Infinity, 2]]);
  });

  it('rates count buckets that appeared since the last reading from zero', () => {
    const rates = proxyRates({ byClass: new Map(), buckets: [] }, { byClass: new Map([['2xx', 10]]), buckets: [[0.1, 10], [Infinity, 10]] }, 10);
    expect(rates).toMatchObject({ requestsPerSecond: 1, byClass: { '2xx': 1 }, errorPercent: 0 });
    expect(rates.p50Ms).toBe(50);
  });

  it('a quantile in the +Inf bucket is the largest finite bound; an empty bucket at the rank is its lower bound', () => {
    expect(quantileMs([[0.1, 1], [Infinity, 100]], 0.5)).toBe(100);
    expect(quantileMs([[0.1, 0], [1, 10]], 0)).toBe(0);
  });
});
