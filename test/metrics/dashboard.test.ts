/**
 * The dashboard's routes on a real status server (127.0.0.1, port 0) with status.token, and the
 * history's arithmetic (ring buffer bound, proxy rates, quantiles) with a fake registry.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { dashboardRoutes } from '../../src/metrics/dashboard.js';
import { DashboardHistory, PROXY_DURATION_METRIC, PROXY_REQUESTS_METRIC, proxyRates, quantileMs } from '../../src/metrics/history.js';
import { SupervisorMetrics } from '../../src/metrics/registry.js';
import { buildHealthSnapshot, startStatusServer, type StatusServer } from '../../src/metrics/status-server.js';
import { initialMachine } from '../../src/supervisor/machine.js';
import { exited, ready, spawned } from './helpers.js';
import { request } from 'node:http';

const TOKEN = '0123456789abcdef0123';
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => { for (const fn of cleanups.splice(0).reverse()) await fn(); });

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function serve(): Promise<{ server: StatusServer; history: DashboardHistory; metrics: SupervisorMetrics }> {
  const metrics = new SupervisorMetrics({ sampleIntervalMs: 0, defaultMetrics: false });
  const history = new DashboardHistory({ metrics, intervalMs: 0 });
  const snapshot = (): ReturnType<typeof buildHealthSnapshot> => buildHealthSnapshot({ supervisor: { state: { tag: 'idle' }, context: initialMachine().ctx }, metrics, version: '0.0.0-test' });
  const server = await startStatusServer({
    port: 0, snapshot, isReady: () => metrics.ready, metrics, token: TOKEN,
    routes: dashboardRoutes({ snapshot, history, app: () => ({ name: 'api<&>', url: 'http://127.0.0.1:8000', mode: 'proxy', liveness: false }) }),
  });
  cleanups.push(() => server.close(), () => metrics.close(), () => history.close());
  return { server, history, metrics };
}

describe('dashboard routes with status.token', () => {
  it('asks for the token on data routes, not on /alive, /ready or the static files', async () => {
    const { server } = await serve();
    for (const path of ['/', '/dashboard', '/dashboard.json', '/health', '/metrics']) {
      const r = await get(server.port, path);
      expect(r.status, path).toBe(401);
      expect(r.headers['www-authenticate']).toBe('Bearer');
      expect((await get(server.port, `${path}?token=wrong-token-000000`)).status, path).toBe(401);
      expect((await get(server.port, path, { Authorization: `Bearer ${TOKEN}` })).status, path).toBe(200);
      expect((await get(server.port, `${path}?token=${TOKEN}`)).status, path).toBe(200);
    }
    expect((await get(server.port, '/alive')).status).toBe(200);
    expect((await get(server.port, '/ready')).status).toBe(503);
    const uplot = await get(server.port, '/dashboard/uplot.js');
    expect(uplot.status).toBe(200);
    expect(uplot.body).toMatch(/^\/\*! https:\/\/github.com\/leeoniya\/uPlot/);
    for (const path of ['/dashboard/uplot.css', '/dashboard/style.css', '/dashboard/app.js']) expect((await get(server.port, path)).status, path).toBe(200);
  });

  it('renders the page escaped, with a strict CSP, the token passed on to its script, and the proxy panel empty until the proxy registers metrics', async () => {
    const { server, history } = await serve();
    history.handle(spawned());
    history.handle(ready(250));
    history.handle(exited({ cause: 'killed', signal: 'SIGKILL', code: null, summary: 'killed by SIGKILL <oom?>', fix: 'check `dmesg`' }));
    const page = await get(server.port, `/?token=${TOKEN}`);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).toContain('<title>api&#60;&#38;&#62; · naija-sup</title>');
    expect(page.body).toContain('killed by SIGKILL &#60;oom?&#62;');
    expect(page.body).not.toContain('<oom?>');
    expect(page.body).toContain(`data-query="?token=${TOKEN}"`);
    expect(page.body).toContain('proxy metrics: none yet');
    const data = JSON.parse((await get(server.port, '/dashboard.json', { Authorization: `Bearer ${TOKEN}` })).body) as { exits: unknown[]; starts: unknown[]; html: Record<string, string>; proxy: unknown };
    expect(data.exits).toHaveLength(1);
    expect(data.starts).toMatchObject([{ readyInMs: 250 }]);
    expect(data.proxy).toBeNull();
    expect(Object.keys(data.html)).toEqual(['s-app', 's-health', 's-instances', 's-restarts', 's-starts', 's-resources', 's-deps', 's-proxy', 's-alerts']);
  });
});

describe('dashboard history', () => {
  it('keeps at most `points` samples per column', async () => {
    const metrics = new SupervisorMetrics({ sampleIntervalMs: 0, defaultMetrics: false });
    cleanups.push(() => metrics.close());
    const history = new DashboardHistory({ metrics, intervalMs: 0, points: 3 });
    for (let i = 0; i < 5; i += 1) await history.sample();
    for (const [name, column] of Object.entries(history.columns)) expect((column as unknown[]).length, name).toBe(3);
  });

  it('reads the proxy metrics from the registry once registered: rates, 5xx share and quantiles', async () => {
    const { Counter, Histogram } = await import('prom-client');
    const metrics = new SupervisorMetrics({ sampleIntervalMs: 0, defaultMetrics: false });
    cleanups.push(() => metrics.close());
    const requests = new Counter({ name: PROXY_REQUESTS_METRIC, help: 'x', labelNames: ['class'], registers: [metrics.registry] });
    const duration = new Histogram({ name: PROXY_DURATION_METRIC, help: 'x', buckets: [0.01, 0.1, 1], registers: [metrics.registry] });
    let now = 1_000_000;
    const history = new DashboardHistory({ metrics, intervalMs: 0, now: () => now });
    await history.sample();
    requests.inc({ class: '2xx' }, 18);
    requests.inc({ class: '5xx' }, 2);
    for (let i = 0; i < 18; i += 1) duration.observe(0.005);
    duration.observe(0.5);
    duration.observe(0.5);
    now += 10_000;
    await history.sample();
    expect(history.proxy).toMatchObject({ requestsPerSecond: 2, byClass: { '2xx': 1.8, '5xx': 0.2 }, errorPercent: 10, p50Ms: 5.6 });
    expect(history.proxy?.p99Ms).toBeGreaterThan(100);
    expect(history.columns.requestsPerSecond.at(-1)).toBe(2);
  });

  it('quantiles interpolate within a bucket like histogram_quantile, and are null without requests', () => {
    expect(quantileMs([[0.1, 50], [1, 100], [Infinity, 100]], 0.5)).toBe(100);
    expect(quantileMs([[0.1, 0], [1, 100], [Infinity, 100]], 0.5)).toBe(550);
    expect(quantileMs([[0.1, 0], [Infinity, 0]], 0.99)).toBeNull();
    expect(proxyRates({ byClass: new Map(), buckets: [] }, { byClass: new Map([['2xx', 0]]), buckets: [] }, 5)).toMatchObject({ requestsPerSecond: 0, errorPercent: 0, p99Ms: null });
  });
});
