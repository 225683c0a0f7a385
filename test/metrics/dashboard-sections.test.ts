/**
 * What the dashboard's sections say for states a short test run rarely reaches: durations of
 * minutes to days, requested and signalled exits, failing and idle webhooks with their last error,
 * open incidents, dependencies up and down, proxy rates without latencies, liveness watched but
 * not yet probed, and sparse charts. Rendered server-side (renderSections / renderPage).
 */
import { describe, expect, it } from 'vitest';
import { formatBytes, formatSeconds, renderPage, renderSections, type DashboardData } from '../../src/metrics/dashboard-html.js';
import type { HistoryColumns } from '../../src/metrics/history.js';
import type { HealthSnapshot } from '../../src/metrics/status-server.js';

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);

function emptyHistory(): HistoryColumns {
  return { t: [], ready: [], restarts: [], crashRate: [], rssMb: [], cpuPercent: [], supervisorRssMb: [], supervisorCpuPercent: [], probeMs: [], requestsPerSecond: [], errorPercent: [], p99Ms: [] };
}

function data(over: Partial<DashboardData> = {}, health: Partial<HealthSnapshot> = {}): DashboardData {
  const base: HealthSnapshot = {
    status: 'ok',
    supervisor: { pid: 10, uptimeSeconds: 90_000, version: '1.2.3' },
    instance: { state: 'ready', ready: true, pid: 11, uptimeSeconds: 3 * 3600 + 125, restarts: 2, lastExit: null, rssBytes: 512 * 1024, cpuSeconds: 1, processes: 1 },
    probe: null,
    crashRate: { perMinute: 0, threshold: null },
    dependencies: [],
  } as unknown as HealthSnapshot;
  return {
    nowMs: NOW, app: { name: 'api', url: 'http://127.0.0.1:8000', mode: 'proxy' }, health: { ...base, ...health }, liveness: false, probes: {},
    exits: [], starts: [], latest: { cpuPercent: null, supervisorRssBytes: 40 * 1048576, supervisorCpuPercent: 0.5 }, proxy: null, alerts: null,
    history: emptyHistory(), ...over,
  };
}

describe('formatSeconds and formatBytes', () => {
  it.each([
    [0.25, '250 ms'], [5, '5.0 s'], [45, '45 s'], [125, '2 min 5 s'], [3 * 3600 + 125, '3 h 2 min'], [3 * 86400 + 7200, '3 d 2 h'], [null, '–'],
  ])('%s s → %s', (seconds, text) => {
    expect(formatSeconds(seconds)).toBe(text);
  });

  it('KiB under a MiB, MiB above', () => {
    expect(formatBytes(512 * 1024)).toBe('512 KiB');
    expect(formatBytes(3 * 1048576)).toBe('3.0 MiB');
    expect(formatBytes(null)).toBe('–');
  });
});

describe('dashboard sections', () => {
  it('app: uptimes in hours and days, and a neutral badge while starting', () => {
    const s = renderSections(data({}, { status: 'starting' }))['s-app'] ?? '';
    expect(s).toContain('<span class="badge neutral">starting</span>');
    expect(s).toContain('3 h 2 min');
    expect(s).toContain('up 25 h 0 min, v1.2.3'); // hours up to two days
  });

  it('health: liveness watched but not probed yet, then failing', () => {
    expect(renderSections(data({ liveness: true }))['s-health']).toContain('watching, no probe yet');
    const failing = renderSections(data({ liveness: true, probes: { liveness: { ok: false, detail: 'HTTP 500', latencyMs: 2, at: NOW - 5000 } } }))['s-health'] ?? '';
    expect(failing).toContain('<span class="badge bad">failing</span>');
    expect(failing).toContain('5.0 s ago');
  });

  it('restarts: a requested stop is neutral and has no fix; a signal is named', () => {
    const exits: DashboardData['exits'] = [
      { at: NOW - 60_000, pid: 5, expected: true, code: 0, signal: null, cause: 'clean-exit', summary: 'exited with code 0', fix: 'nothing to fix', uptimeMs: 10 },
      { at: NOW - 10_000, pid: 6, expected: false, code: null, signal: 'SIGKILL', cause: 'killed', summary: 'killed by SIGKILL', fix: 'check memory', uptimeMs: 10 },
    ];
    const s = renderSections(data({ exits }))['s-restarts'] ?? '';
    expect(s).toContain('<span class="badge neutral">requested</span>');
    expect(s).not.toContain('nothing to fix');
    expect(s).toContain('SIGKILL');
    expect(s).toContain('check memory');
    expect(s).toContain('code 0');
  });

  it('resources: CPU once sampled; no memory figure without processes', () => {
    const s = renderSections(data({ latest: { cpuPercent: 12.5, supervisorRssBytes: 1048576, supervisorCpuPercent: 1 } }, { instance: { ...data().health.instance, processes: 0 } }))['s-resources'] ?? '';
    expect(s).toContain('12.5 %');
    expect(s).toContain('<dt>server memory (RSS)</dt><dd>–</dd>');
  });

  it('dependencies: up and down, with when each was checked', () => {
    const dependencies = [
      { name: 'db', target: 'db:5432', ok: true, detail: 'connected', at: new Date(NOW - 2000).toISOString() },
      { name: 'es', target: 'http://es:9200/', ok: false, detail: 'refused', at: new Date(NOW - 2000).toISOString() },
    ];
    const s = renderSections(data({}, { dependencies } as unknown as Partial<HealthSnapshot>))['s-deps'] ?? '';
    expect(s).toContain('<span class="badge good">up</span>');
    expect(s).toContain('<span class="badge bad">down</span>');
    expect(s).toContain('2.0 s ago');
  });

  it('proxy: no latency before any request, a bad badge above 1 % 5xx', () => {
    const quiet = renderSections(data({ proxy: { requestsPerSecond: 0, byClass: {}, errorPercent: 0, p50Ms: null, p99Ms: null } }))['s-proxy'] ?? '';
    expect(quiet).toContain('<dt>by status class</dt><dd>–</dd>');
    expect(quiet).toContain('– / –');
    expect(quiet).toContain('<span class="badge neutral">0 %</span>');
    const busy = renderSections(data({ proxy: { requestsPerSecond: 10, byClass: { '2xx': 9, '5xx': 1 }, errorPercent: 10, p50Ms: 4, p99Ms: 90 } }))['s-proxy'] ?? '';
    expect(busy).toContain('2xx 9/s, 5xx 1/s');
    expect(busy).toContain('<span class="badge bad">10 %</span>');
    expect(busy).toContain('4 ms / 90 ms');
  });

  it('alerts: a failing webhook with its last error and when, an idle and a working one, open incidents', () => {
    const webhook = { url: 'https://hooks.example.com/[redacted]', delivered: 0, failed: 0, failedAttempts: 0, pending: 0, failing: false, lastError: null, lastErrorAt: null, lastDeliveredAt: null };
    const alerts = {
      webhooks: [
        { ...webhook, failing: true, failed: 1, lastError: 'ECONNREFUSED (after 4 attempts)', lastErrorAt: new Date(NOW - 125_000).toISOString() },
        webhook,
        { ...webhook, delivered: 3 },
        { ...webhook, delivered: 1, lastError: 'queue full', lastErrorAt: null },
      ],
      open: ['crash-loop'],
    };
    const s = renderSections(data({ alerts }))['s-alerts'] ?? '';
    expect(s).toContain('<span class="badge bad">failing</span>');
    expect(s).toContain('ECONNREFUSED (after 4 attempts) (2 min 5 s ago)');
    expect(s).toContain('<span class="badge neutral">idle</span>');
    expect(s).toContain('<span class="badge good">ok</span>');
    expect(s).toMatch(/queue full<\/td>/);
    expect(s).toContain('<dt>open incidents</dt><dd><span class="badge bad">crash-loop</span></dd>');
  });

  it('the page draws a line only from the samples there are', () => {
    const history = { ...emptyHistory(), ready: [1, null as unknown as number, 0, 1] };
    const page = renderPage(data({ history }), { query: '' });
    const line = /<figcaption>Ready and restarts<\/figcaption><div id="c-ready" class="plot"><svg[^>]*><polyline[^>]*points="([^"]*)"/.exec(page);
    expect(line?.[1]?.split(' ')).toHaveLength(3);
  });
});
