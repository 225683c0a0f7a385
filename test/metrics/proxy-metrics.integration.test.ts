/**
 * Issue 13: in proxy mode the HTTP proxy's own counts are on /metrics — requests by status class,
 * retries, upstream errors and the duration histogram, per instance (`target`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, waitFor } from '../helpers/processes.js';
import { finishSupervisor, freePort, httpGet, superviseInProcess, type InProcessSupervisor } from '../helpers/supervise.js';

let current: InProcessSupervisor | null = null;
afterEach(async () => {
  const sup = current;
  current = null;
  await finishSupervisor(sup);
});

describe('proxy metrics on /metrics', () => {
  it('counts the requests that pass by status class and instance, with their durations', async () => {
    const [port, statusPort] = [await freePort(), await freePort()];
    current = superviseInProcess(['--mode', 'proxy', '--port', String(port), '--status-port', String(statusPort), '--', process.execPath, fixture('routes-server.mjs')], {
      NAIJA_SUP_HEALTH_INTERVAL: '25ms', OK_ROUTES: '/',
    });
    await current.waitFor(/is ready in/);
    for (let i = 0; i < 5; i += 1) expect((await httpGet(port, '/')).status).toBe(200);
    for (let i = 0; i < 3; i += 1) expect((await httpGet(port, '/missing')).status).toBe(404);
    const text = await waitFor(async () => {
      const body = (await httpGet(statusPort, '/metrics')).body;
      return /naija_sup_proxy_requests_total\{target="\d+",class="2xx"\} 5\b/.test(body) ? body : null;
    }, { timeout: 10_000, message: 'no proxy request counts on /metrics' });
    expect(text).toMatch(/naija_sup_proxy_requests_total\{target="\d+",class="4xx"\} 3\b/);
    expect(text).toMatch(/naija_sup_proxy_request_duration_seconds_count\{target="\d+"\} 8\b/);
    expect(text).toMatch(/naija_sup_proxy_request_duration_seconds_bucket\{target="\d+",le="\+Inf"\} 8\b/);
    expect(text).toMatch(/naija_sup_proxy_retries_total\{target="\d+"\} 0\b/);
    expect(text).toMatch(/# TYPE naija_sup_proxy_request_duration_seconds histogram/);
    current.signal('SIGTERM');
    await expect(current.done).resolves.toBe(0);
  });
});
