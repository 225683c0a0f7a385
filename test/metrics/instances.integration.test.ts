/**
 * The status server of an app with `instances: 3` (issue 20), end to end: `naija-sup start`
 * in-process in proxy mode against test/fixtures/reload/fd-server.mjs, real processes, the status
 * server on 127.0.0.1. /health lists the three with distinct pids and the total; /metrics has the
 * per-instance families beside the unchanged app-level ones, and passes `promtool check metrics`
 * (Debian's prometheus package, as test/export/promtool.test.ts uses it).
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { HealthSnapshot } from '../../src/metrics/status-server.js';
import { assertAllGone, fixture, waitFor } from '../helpers/processes.js';
import { finishSupervisor, freePort, httpGet, superviseInProcess, type InProcessSupervisor } from '../helpers/supervise.js';
import { httpRequest } from './helpers.js';
import { parsePrometheusText, sampleValue } from './prom-text.js';

const PROMTOOL = '/usr/bin/promtool';

let sup: InProcessSupervisor | null = null;
afterEach(async () => {
  const s = sup;
  sup = null;
  await finishSupervisor(s);
});

/** `promtool check metrics` on `text` (its stdin): its exit status and what it said. */
function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile(PROMTOOL, ['check', 'metrics'], { timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}` });
    });
    child.stdin?.end(text);
  });
}

/** The exposition without the families whose names start with `prefix` (their HELP, TYPE and samples). */
function withoutFamilies(text: string, prefix: string): string {
  return text.split('\n').filter((line) => !line.startsWith(prefix) && !line.startsWith(`# HELP ${prefix}`) && !line.startsWith(`# TYPE ${prefix}`)).join('\n');
}

describe('status server, proxy mode, instances: 3', () => {
  it('/health lists each instance and the total; /metrics has per-instance series and passes promtool', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const statusPort = await freePort();
    sup = superviseInProcess([], {}, (tmp) => writeFileSync(join(tmp, 'naija-sup.config.json'), JSON.stringify({
      name: 'instances-status', command: [process.execPath, fixture('reload/fd-server.mjs')], port, host: '127.0.0.1',
      mode: 'proxy', instances: 3, status: { port: statusPort },
      health: { path: '/health', interval: '25ms', startupTimeout: '20s' }, shutdown: { timeout: '10s' },
    })));
    const health = await waitFor(async () => {
      const answer = await httpRequest(statusPort, '/health').catch(() => null);
      if (answer?.status !== 200) return null;
      const body = JSON.parse(answer.body) as HealthSnapshot;
      return body.instances?.every((i) => i.ready) === true ? body : null;
    }, { timeout: 30_000, message: () => `the three instances never showed ready on /health\n${sup?.stdout().slice(-3000)}` });
    const instances = health.instances ?? [];
    expect(instances.map((i) => i.index)).toEqual([0, 1, 2]);
    const pids = instances.map((i) => i.pid as number);
    expect(new Set(pids).size).toBe(3);
    for (const pid of pids) expect(pid).toBeGreaterThan(0);
    expect(health.instance.pid).toBe(pids[0]);
    expect(health.total).toMatchObject({ instances: 3, ready: 3, restarts: 0 });

    // Some requests through the proxy, then per-instance counts that add up to them.
    for (let k = 0; k < 30; k += 1) expect((await httpGet(port, '/pid')).status).toBe(200);
    const metrics = await waitFor(async () => {
      const text = (await httpRequest(statusPort, '/metrics')).body;
      const f = parsePrometheusText(text);
      return [0, 1, 2].every((k) => (sampleValue(f, 'naija_sup_app_instance_resident_memory_bytes', { index: String(k) }) ?? 0) > 0) ? { text, f } : null;
    }, { timeout: 15_000, message: 'no per-instance RSS on /metrics' });
    const { f } = metrics;
    for (const [k, pid] of pids.entries()) {
      const index = String(k);
      expect(sampleValue(f, 'naija_sup_app_instance_pid', { index })).toBe(pid);
      expect(sampleValue(f, 'naija_sup_app_instance_up', { index })).toBe(1);
      expect(sampleValue(f, 'naija_sup_app_instance_ready', { index })).toBe(1);
      expect(sampleValue(f, 'naija_sup_app_instance_state', { index, state: 'ready' })).toBe(1);
      expect(sampleValue(f, 'naija_sup_app_instance_restarts_total', { index })).toBe(0);
      expect(sampleValue(f, 'naija_sup_app_instance_cpu_seconds_total', { index })).toBeGreaterThanOrEqual(0);
    }
    const requests = [0, 1, 2].map((k) => sampleValue(f, 'naija_sup_app_instance_requests_total', { index: String(k) }) ?? 0);
    // Probes go to each instance's private port, not through the proxy: it counted our 30, spread over the three.
    expect(requests.reduce((a, b) => a + b, 0)).toBe(30);
    for (const r of requests) expect(r).toBeGreaterThan(0);
    // The app-level series are unchanged: one unlabelled sample each, as alert rules and Grafana read them.
    for (const name of ['naija_sup_instance_up', 'naija_sup_instance_ready', 'naija_sup_instance_resident_memory_bytes', 'naija_sup_instance_cpu_seconds_total']) {
      expect(f.get(name)?.samples.map((s) => s.labels), name).toEqual([{}]);
    }
    expect(sampleValue(f, 'naija_sup_instance_ready')).toBe(1);

    // promtool lints naming too. prom-client's own process metrics for the supervisor
    // (naija_sup_supervisor_*) are not naija-sup's to name (three gauges end in _total): left out.
    const lint = await promtoolCheck(withoutFamilies(metrics.text, 'naija_sup_supervisor_'));
    expect(lint.output).toBe('');
    expect(lint.code).toBe(0);
    const ours = withoutFamilies(metrics.text, 'naija_sup_supervisor_');
    expect(ours).toContain('# TYPE naija_sup_app_instance_cpu_seconds_total counter');

    sup.signal('SIGTERM');
    await expect(sup.done).resolves.toBe(0);
    await assertAllGone(pids);
  });
});
