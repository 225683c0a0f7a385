/**
 * The status server over real HTTP on 127.0.0.1, ephemeral ports. The supervisor side is a fake
 * state fed with events, so each route can be driven through every answer it has.
 */
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createProc } from '../../src/process/proc-read.js';
import { NaijaSupError } from '../../src/errors.js';
import { SupervisorMetrics } from '../../src/metrics/registry.js';
import {
  buildHealthSnapshot,
  isLoopbackHost,
  startStatusServer,
  type HealthSnapshot,
  type StatusServer,
  type SupervisorView,
} from '../../src/metrics/status-server.js';
import { initialMachine, type Context, type State } from '../../src/supervisor/machine.js';
import { backoff, createUsageProc, exitInfo, exited, httpRequest, ready, spawned, type UsageProc } from './helpers.js';
import { parsePrometheusText, sampleValue } from './prom-text.js';

const servers: StatusServer[] = [];
const metricsList: SupervisorMetrics[] = [];
const blockers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const m of metricsList.splice(0)) m.close();
  await Promise.all(blockers.splice(0).map(async (b) => {
    b.close();
    await once(b, 'close');
  }));
});

/** A stand-in for the runner's `state` / `context` getters, moved along by the test. */
function fakeSupervisor(): SupervisorView & { state: State; context: Context } {
  const m = initialMachine();
  return { state: m.state, context: m.ctx };
}

async function setup(procRoot?: string, pid: () => number | null = () => null): Promise<{
  server: StatusServer;
  metrics: SupervisorMetrics;
  sup: ReturnType<typeof fakeSupervisor>;
  now: { value: number };
}> {
  const metrics = new SupervisorMetrics({ sampleIntervalMs: 0, proc: procRoot === undefined ? undefined : createProc(procRoot), instancePid: pid, crashRate: 5 });
  metricsList.push(metrics);
  const sup = fakeSupervisor();
  const now = { value: 10_000 };
  const server = await startStatusServer({
    port: 0,
    snapshot: () => buildHealthSnapshot({ supervisor: sup, metrics, version: '9.9.9-test', now: () => now.value }),
    isReady: () => metrics.ready,
    metrics,
  });
  servers.push(server);
  return { server, metrics, sup, now };
}

describe('status server routes', () => {
  it('binds 127.0.0.1 by default and answers /alive, 404 and 405', async () => {
    const { server } = await setup();
    expect(server.host).toBe('127.0.0.1');
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    const alive = await httpRequest(server.port, '/alive');
    expect(alive.status).toBe(200);
    expect(alive.body).toBe('alive\n');
    expect(alive.headers['cache-control']).toBe('no-store');
    expect((await httpRequest(server.port, '/nope')).status).toBe(404);
    expect((await httpRequest(server.port, '/')).status).toBe(404);
    expect((await httpRequest(server.port, '/alive?x=1')).status).toBe(200);
    const post = await httpRequest(server.port, '/ready', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers['allow']).toBe('GET, HEAD');
    const head = await httpRequest(server.port, '/ready', 'HEAD');
    expect(head.status).toBe(503);
    expect(head.body).toBe('');
  });

  it('/ready goes 503 → 200 → 503 as the instance starts, gets ready and crashes, and again across a stop', async () => {
    const { server, metrics } = await setup();
    const readyStatus = async (): Promise<number> => (await httpRequest(server.port, '/ready')).status;
    expect(await readyStatus()).toBe(503);
    metrics.handle({ type: 'spawning', instance: 1, command: ['node'], port: 8000 });
    metrics.handle(spawned());
    expect(await readyStatus()).toBe(503);
    metrics.handle(ready());
    expect(await readyStatus()).toBe(200);
    expect((await httpRequest(server.port, '/ready')).body).toBe('ready\n');
    metrics.handle({ type: 'readiness-changed', instance: 1, ready: false, detail: 'HTTP 503' });
    expect(await readyStatus()).toBe(503);
    metrics.handle({ type: 'readiness-changed', instance: 1, ready: true, detail: '200 OK' });
    expect(await readyStatus()).toBe(200);
    metrics.handle(exited({ code: null, signal: 'SIGKILL', cause: 'killed' }));
    expect(await readyStatus()).toBe(503);
    metrics.handle(backoff());
    metrics.handle(spawned(4243, 2));
    metrics.handle(ready(80, 4243));
    expect(await readyStatus()).toBe(200);
    metrics.handle({ type: 'stopping', instance: 2, signal: 'SIGTERM', timeoutMs: 5000, reason: 'requested' });
    // Not ready from the moment the stop starts: the balancer drains us while the server drains.
    expect(await readyStatus()).toBe(503);
    metrics.handle(exited({ code: 0, cause: 'clean-exit' }, true, 4243));
    metrics.handle({ type: 'stopped', exitStatus: 0, graceful: true });
    expect(await readyStatus()).toBe(503);
    expect((await httpRequest(server.port, '/alive')).status).toBe(200);
  });

  it('/metrics is Prometheus text and its counters rise as events arrive', async () => {
    const { server, metrics } = await setup();
    const scrape = async (): Promise<ReturnType<typeof parsePrometheusText>> => {
      const res = await httpRequest(server.port, '/metrics');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      return parsePrometheusText(res.body);
    };
    let f = await scrape();
    expect(f.get('naija_sup_restarts_total')?.type).toBe('counter');
    expect(f.get('naija_sup_supervisor_process_resident_memory_bytes')?.samples[0]?.value).toBeGreaterThan(0);
    expect(sampleValue(f, 'naija_sup_exits_total', { signal: 'SIGKILL' })).toBeUndefined();

    metrics.handle(spawned());
    metrics.handle(ready(250));
    metrics.handle(exited({ code: null, signal: 'SIGKILL', cause: 'killed' }));
    f = await scrape();
    expect(sampleValue(f, 'naija_sup_exits_total', { signal: 'SIGKILL' })).toBe(1);
    expect(sampleValue(f, 'naija_sup_restarts_total', { cause: 'killed' })).toBeUndefined();
    metrics.handle(backoff());
    f = await scrape();
    expect(sampleValue(f, 'naija_sup_restarts_total', { cause: 'killed' })).toBe(1);
    expect(sampleValue(f, 'naija_sup_start_duration_seconds_count')).toBe(1);
    expect(sampleValue(f, 'naija_sup_crash_rate_per_minute')).toBe(1);

    metrics.handle(spawned(4243, 2));
    metrics.handle(exited({ code: null, signal: 'SIGKILL', cause: 'killed' }, false, 4243));
    metrics.handle(backoff(2));
    f = await scrape();
    expect(sampleValue(f, 'naija_sup_exits_total', { signal: 'SIGKILL' })).toBe(2);
    expect(sampleValue(f, 'naija_sup_restarts_total', { cause: 'killed' })).toBe(2);
  });

  it('/health reports the supervisor, the instance, the probe, dependencies, usage and the crash rate', async () => {
    const proc: UsageProc = createUsageProc();
    try {
      proc.set({ pid: 4242, pgid: 4242, utime: 120, stime: 30, rssKb: 50_000 });
      const { server, metrics, sup, now } = await setup(proc.root, () => 4242);
      // Before anything ran.
      let health = JSON.parse((await httpRequest(server.port, '/health')).body) as HealthSnapshot;
      expect(health.status).toBe('down');
      expect(health.instance).toMatchObject({ state: 'idle', ready: false, pid: null, uptimeSeconds: null, restarts: 0, lastExit: null, rssBytes: null });
      expect(health.probe).toBeNull();
      expect(health.dependencies).toEqual([]);

      // A first instance crashed; the second one is ready.
      metrics.handle({ type: 'dependency', name: 'postgres', target: '127.0.0.1:5432', ok: true, attempts: 2, latencyMs: 0.8, detail: 'connected to 127.0.0.1:5432 in <1 ms' });
      metrics.handle(spawned());
      metrics.handle({ type: 'probe', instance: 1, ok: true, detail: '200 OK in 4 ms', latencyMs: 4.2, first: true });
      metrics.handle(ready());
      await metrics.sample();
      sup.state = { tag: 'ready', instance: 2, pid: 4242, since: 7_500, readyAt: 7_600 };
      sup.context = { ...sup.context, instanceSeq: 2, restarts: 1, lastExit: exitInfo({ code: null, signal: 'SIGKILL', cause: 'killed', summary: 'killed by SIGKILL', uptimeMs: 61_500 }) };
      now.value = 10_000;

      const res = await httpRequest(server.port, '/health');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      health = JSON.parse(res.body) as HealthSnapshot;
      expect(health.status).toBe('ok');
      expect(health.supervisor.pid).toBe(process.pid);
      expect(health.supervisor.version).toBe('9.9.9-test');
      expect(typeof health.supervisor.uptimeSeconds).toBe('number');
      expect(health.supervisor.uptimeSeconds).toBeGreaterThan(0);
      expect(health.instance).toEqual({
        state: 'ready',
        ready: true,
        pid: 4242,
        uptimeSeconds: 2.5,
        restarts: 1,
        lastExit: { code: null, signal: 'SIGKILL', cause: 'killed', summary: 'killed by SIGKILL', at: '2025-01-01T00:00:00.000Z', uptimeSeconds: 61.5 },
        rssBytes: 50_000 * 1024,
        cpuSeconds: 1.5,
        processes: 1,
      });
      expect(health.probe).toMatchObject({ probe: 'startup', ok: true, latencyMs: 4.2, detail: '200 OK in 4 ms' });
      expect(Number.isNaN(Date.parse(health.probe?.at ?? ''))).toBe(false);
      expect(health.dependencies).toHaveLength(1);
      expect(health.dependencies[0]).toMatchObject({ name: 'postgres', target: '127.0.0.1:5432', ok: true, attempts: 2, latencyMs: 0.8 });
      expect(typeof health.dependencies[0]?.at).toBe('string');
      expect(health.crashRate).toEqual({ perMinute: 0, windowSeconds: 60, threshold: 5 });

      // Backing off after a crash: starting, no pid, not ready.
      metrics.handle(exited({ code: 1, cause: 'exit-code' }));
      sup.state = { tag: 'backoff', until: 12_000, delayMs: 2_000 };
      health = JSON.parse((await httpRequest(server.port, '/health')).body) as HealthSnapshot;
      expect(health.status).toBe('starting');
      expect(health.instance).toMatchObject({ state: 'backoff', ready: false, pid: null, uptimeSeconds: null });
      expect(health.crashRate.perMinute).toBe(1);
    } finally {
      proc.cleanup();
    }
  });

  it('answers 500 (and keeps serving) when the metrics source fails', async () => {
    const server = await startStatusServer({
      port: 0,
      snapshot: () => { throw new Error('snapshot broke'); },
      isReady: () => true,
      metrics: { contentType: 'text/plain', metrics: () => Promise.reject(new Error('registry broke')) },
    });
    servers.push(server);
    const res = await httpRequest(server.port, '/metrics');
    expect(res.status).toBe(500);
    expect(res.body).toMatch(/registry broke/);
    expect((await httpRequest(server.port, '/health')).status).toBe(500);
    expect((await httpRequest(server.port, '/ready')).status).toBe(200);
  });

  it('close() resolves even while a client holds a keep-alive connection', async () => {
    const { server } = await setup();
    const agent = new Agent({ keepAlive: true });
    try {
      await new Promise<void>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: server.port, path: '/alive', agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end();
      });
      await server.close();
      await expect(httpRequest(server.port, '/alive')).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      agent.destroy();
    }
  });
});

describe('status server binding', () => {
  it('refuses a non-loopback host unless it was given explicitly', async () => {
    const options = { port: 0, snapshot: () => { throw new Error('unused'); }, isReady: () => false, metrics: { contentType: 'text/plain', metrics: () => Promise.resolve('') } };
    const refused = await startStatusServer({ ...options, host: '0.0.0.0' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(NaijaSupError);
    expect((refused as NaijaSupError).code).toBe('E_CONFIG_INVALID');
    expect((refused as NaijaSupError).message).toMatch(/0\.0\.0\.0, which is not a loopback address/);
    expect((refused as NaijaSupError).fix).toMatch(/status\.host/);
    await expect(startStatusServer({ ...options, host: '::' })).rejects.toThrow(/not a loopback/);

    // Explicit: the guard lets it through and the bind itself is attempted. 192.0.2.1 (TEST-NET-1)
    // is no address of this machine, so nothing is exposed, and the bind error is the answer.
    const attempted = await startStatusServer({ ...options, host: '192.0.2.1', explicitHost: true }).catch((e: unknown) => e);
    expect(attempted).toBeInstanceOf(NaijaSupError);
    expect((attempted as NaijaSupError).message).toMatch(/cannot listen on 192\.0\.2\.1:0: EADDRNOTAVAIL/);
    expect((attempted as NaijaSupError).fix).toMatch(/not an address of this machine/);

    // Loopback hosts need no flag.
    const v4 = await startStatusServer({ ...options, host: '127.0.0.1' });
    servers.push(v4);
    expect(v4.host).toBe('127.0.0.1');
  });

  it('names the port when it is taken', async () => {
    const blocker = createServer();
    blockers.push(blocker);
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const { port } = blocker.address() as AddressInfo;
    const error = await startStatusServer({ port, snapshot: () => { throw new Error('unused'); }, isReady: () => false, metrics: { contentType: 'text/plain', metrics: () => Promise.resolve('') } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NaijaSupError);
    expect((error as NaijaSupError).code).toBe('E_PORT_IN_USE');
    expect((error as NaijaSupError).message).toBe(`the status port ${port} on 127.0.0.1 is already in use`);
  });

  it('knows loopback hosts', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', '0:0:0:0:0:0:0:1', 'localhost', 'LOCALHOST', 'api.localhost', '::ffff:127.0.0.1']) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of ['0.0.0.0', '::', '', '10.0.0.1', '192.168.1.5', 'example.com', '::ffff:10.0.0.1', '128.0.0.1', 'fe80::1']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });
});

describe('buildHealthSnapshot states', () => {
  it('maps each runner state to a status, a pid and an uptime', () => {
    const metrics = new SupervisorMetrics({ sampleIntervalMs: 0, defaultMetrics: false });
    metricsList.push(metrics);
    const sup = fakeSupervisor();
    const snap = (): HealthSnapshot => buildHealthSnapshot({ supervisor: sup, metrics, version: '1', now: () => 5_000, uptimeSeconds: () => 12.3456, pid: 77 });
    expect(snap().supervisor).toEqual({ pid: 77, uptimeSeconds: 12.346, version: '1' });
    sup.state = { tag: 'spawning', instance: 1, since: 4_000 };
    expect(snap()).toMatchObject({ status: 'starting', instance: { pid: null, uptimeSeconds: null } });
    sup.state = { tag: 'starting', instance: 1, pid: 10, since: 4_000, spawnedAt: 4_000 };
    expect(snap()).toMatchObject({ status: 'starting', instance: { pid: 10, uptimeSeconds: 1, ready: false } });
    sup.state = { tag: 'ready', instance: 1, pid: 10, since: 4_000, readyAt: 4_500 };
    metrics.handle(spawned(10));
    metrics.handle(ready(500, 10));
    expect(snap()).toMatchObject({ status: 'ok', instance: { ready: true, pid: 10 } });
    // Running, but the readiness probe does not hold.
    metrics.handle({ type: 'readiness-changed', instance: 1, ready: false, detail: 'HTTP 503' });
    expect(snap()).toMatchObject({ status: 'not-ready', instance: { ready: false, pid: 10 } });
    sup.state = { tag: 'stopping', instance: 1, pid: 10, reason: 'requested', escalated: false, signalled: true, since: 4_900, spawnedAt: 4_000 };
    expect(snap()).toMatchObject({ status: 'stopping', instance: { pid: 10, uptimeSeconds: 1, ready: false } });
    sup.state = { tag: 'fatal', reason: 'gave up', exitStatus: 1 };
    expect(snap()).toMatchObject({ status: 'down', instance: { state: 'fatal', pid: null } });
    sup.state = { tag: 'stopped', exitStatus: 0 };
    expect(snap()).toMatchObject({ status: 'down', instance: { state: 'stopped' } });
  });
});
