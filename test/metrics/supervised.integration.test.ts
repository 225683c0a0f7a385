/**
 * The whole observability path against real processes: the real runner (Supervisor + realDeps)
 * supervises test/fixtures/healthy-server.mjs; its events feed SupervisorMetrics and the JSON
 * renderer; the status server answers over real HTTP on 127.0.0.1. Nothing here reads the runner's
 * internals except /health's state (Supervisor.state / .context), as in production.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { JsonRenderer } from '../../src/cli/json-renderer.js';
import { SupervisorMetrics } from '../../src/metrics/registry.js';
import { buildHealthSnapshot, startStatusServer, type HealthSnapshot, type StatusServer } from '../../src/metrics/status-server.js';
import type { SupervisorEvent } from '../../src/supervisor/events.js';
import { cleanupsAfterEach, gatedApp, realSupervisor } from '../helpers/gated-supervisor.js';
import { assertAllGone, waitFor } from '../helpers/processes.js';
import { stopOrFail } from '../helpers/supervise.js';
import { httpRequest } from './helpers.js';
import { parsePrometheusText, sampleValue } from './prom-text.js';

const cleanups = cleanupsAfterEach();

describe('metrics, status server and JSON log around a real supervisor', () => {
  it('/ready goes 503 → 200 → 503 → 200 → 503 across start, kill -9, restart and stop; counters and /health follow', async () => {
    // health.path makes the startup probe "http": only a 200–399 answer is ready, so the gate
    // holds. Under "auto" (no path) a gated instance too slow to answer within health.timeout —
    // a replacement starved of CPU — is "accepts TCP connections but does not answer HTTP",
    // i.e. ready, and /ready answered 200 right after the crash (a flake under load).
    const app = await gatedApp(cleanups, 'metrics-it', { path: '/health', interval: '25ms' }, { gateOpen: true });
    const { tmp, gate, config } = app;

    const events: SupervisorEvent[] = [];
    const jsonLines: string[] = [];
    const json = new JsonRenderer({ stdout: (t) => jsonLines.push(t), stderr: () => undefined, env: {}, cwd: tmp, isTTY: false }, { name: config.name });
    const metrics = new SupervisorMetrics({ sampleIntervalMs: 0 });
    cleanups.push(() => metrics.close());
    const pids: number[] = [];
    // Ask /ready at the moment of the crash and of the stop (the events from the crash to that
    // answer make the failure message). The first restart after a crash is immediate, so the
    // crash's not-ready gap is kept open on purpose: the gate file goes away at the crash, which
    // keeps the replacement's /health at 503, and comes back once /ready has answered.
    const askedAt: Record<string, Promise<number>> = {};
    let sinceExit: string[] | null = null;
    let sinceExitDone = false;
    const onEvent = (event: SupervisorEvent): void => {
      if (event.type === 'spawned') pids.push(event.pid);
      if (event.type === 'exited' && !event.expected && askedAt['exited'] === undefined) {
        rmSync(gate);
        sinceExit = [];
        askedAt['exited'] = new Promise((resolve) => setImmediate(() => resolve(readyStatus().catch(() => 0))));
        void askedAt['exited'].finally(() => {
          sinceExitDone = true;
          writeFileSync(gate, '');
        });
      }
      if (event.type === 'stopping') {
        askedAt[event.type] ??= new Promise((resolve) => setImmediate(() => resolve(readyStatus().catch(() => 0))));
      }
      events.push(event);
      if (sinceExit !== null && !sinceExitDone) sinceExit.push(event.type === 'probe' ? `probe ${event.ok ? 'ok' : 'failed'}: ${event.detail}` : event.type);
      json.handle(event);
      const extra = metrics.handle(event);
      if (extra) json.handle(extra);
    };
    const supervisor = realSupervisor(app, onEvent);

    const status: StatusServer = await startStatusServer({
      port: 0,
      snapshot: () => buildHealthSnapshot({ supervisor, metrics, version: '0.0.0-test' }),
      isReady: () => metrics.ready,
      metrics,
    });
    cleanups.push(() => status.close());
    const readyStatus = async (): Promise<number> => (await httpRequest(status.port, '/ready')).status;
    const health = async (): Promise<HealthSnapshot> => JSON.parse((await httpRequest(status.port, '/health')).body) as HealthSnapshot;
    const scrape = async (): Promise<ReturnType<typeof parsePrometheusText>> => parsePrometheusText((await httpRequest(status.port, '/metrics')).body);

    expect(await readyStatus()).toBe(503);
    const done = supervisor.start();
    cleanups.push(() => stopOrFail(done, () => {
      supervisor.stop();
      supervisor.stop();
    }));

    // Start → ready.
    await waitFor(async () => (await readyStatus()) === 200, { timeout: 15_000, message: 'first /ready 200' });
    const first = pids[0];
    expect(pids).toHaveLength(1); // one instance spawned, not a retry
    let h = await health();
    expect(h).toMatchObject({ status: 'ok', instance: { state: 'ready', ready: true, pid: first, restarts: 0, lastExit: null } });
    await metrics.sample();
    h = await health();
    expect(h.instance.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(h.instance.processes).toBe(1);

    // kill -9 → not ready until the new instance passes its probe → ready again with a new pid.
    process.kill(first ?? 0, 'SIGKILL');
    let f = await waitFor(async () => {
      const families = await scrape();
      return sampleValue(families, 'naija_sup_restarts_total', { cause: 'killed' }) === 1 ? families : null;
    }, { timeout: 5_000, message: 'restarts_total{cause="killed"} 1' });
    expect(sampleValue(f, 'naija_sup_exits_total', { signal: 'SIGKILL' })).toBe(1);
    expect(sampleValue(f, 'naija_sup_crash_rate_per_minute')).toBe(1);
    expect(await askedAt['exited'], JSON.stringify(sinceExit)).toBe(503);

    await waitFor(async () => (await readyStatus()) === 200, { timeout: 15_000, message: '/ready 200 after the restart' });
    const second = pids[1];
    expect(pids).toHaveLength(2); // exactly one restart
    expect(second).not.toBe(first);
    f = await scrape();
    expect(sampleValue(f, 'naija_sup_instance_up')).toBe(1);
    expect(sampleValue(f, 'naija_sup_instance_ready')).toBe(1);
    expect(sampleValue(f, 'naija_sup_start_duration_seconds_count')).toBe(2);
    expect(sampleValue(f, 'naija_sup_probe_duration_seconds_count', { probe: 'startup' })).toBeGreaterThanOrEqual(2);
    expect(await health()).toMatchObject({ status: 'ok', instance: { pid: second, restarts: 1, lastExit: { code: null, signal: 'SIGKILL', cause: 'killed' } } });

    // Stop → 503, and the supervisor ends with status 0.
    supervisor.stop();
    expect(await done).toBe(0);
    expect(await askedAt['stopping']).toBe(503);
    expect(await readyStatus()).toBe(503);
    h = await health();
    expect(h).toMatchObject({ status: 'down', instance: { state: 'stopped', pid: null } });
    expect((await httpRequest(status.port, '/alive')).status).toBe(200);
    await assertAllGone(pids);

    // The JSON log carries every lifecycle event of the run, one parseable object per line.
    const records = jsonLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const kinds = new Set(records.map((r) => r['event']).filter((e) => e !== undefined));
    for (const kind of ['spawning', 'spawned', 'probe', 'ready', 'exited', 'backoff', 'restarting', 'stopping', 'stopped', 'record-written']) {
      expect(kinds.has(kind), kind).toBe(true);
    }
    for (const r of records.filter((rec) => rec['event'] !== undefined)) {
      expect(typeof r['time']).toBe('string');
      expect(['debug', 'info', 'warn', 'error']).toContain(r['level']);
    }
    expect(records.find((r) => r['event'] === 'exited' && r['expected'] === false)).toMatchObject({ level: 'warn', exit: { signal: 'SIGKILL', cause: 'killed' } });
    // The child's own lines arrive as {stream, line}.
    expect(records.some((r) => r['stream'] === 'stdout' && typeof r['line'] === 'string' && (r['line'] as string).startsWith('READY port='))).toBe(true);
    expect(events.filter((e) => e.type === 'spawned')).toHaveLength(2);
  });
});
