import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createProc } from '../../src/process/proc-read.js';
import {
  SupervisorMetrics,
  exitLabels,
  readGroupUsage,
} from '../../src/metrics/registry.js';
import { assertAllGone, killAllTracked, startFixture, waitFor } from '../helpers/processes.js';
import { backoff, createUsageProc, exited, ready, spawned, type UsageProc } from './helpers.js';
import { parsePrometheusText, sampleValue, type Family } from './prom-text.js';

const open: SupervisorMetrics[] = [];
function metricsWith(options: ConstructorParameters<typeof SupervisorMetrics>[0] = {}): SupervisorMetrics {
  const m = new SupervisorMetrics({ sampleIntervalMs: 0, ...options });
  open.push(m);
  return m;
}
afterEach(() => {
  for (const m of open.splice(0)) m.close();
});

async function scrape(m: SupervisorMetrics): Promise<Map<string, Family>> {
  return parsePrometheusText(await m.metrics());
}

/** The metrics of docs/metrics.md, with their types. */
const DOCUMENTED: Record<string, Family['type']> = {
  naija_sup_instance_up: 'gauge',
  naija_sup_instance_ready: 'gauge',
  naija_sup_restarts_total: 'counter',
  naija_sup_exits_total: 'counter',
  naija_sup_start_duration_seconds: 'histogram',
  naija_sup_probe_duration_seconds: 'histogram',
  naija_sup_probe_failures_total: 'counter',
  naija_sup_dependency_up: 'gauge',
  naija_sup_instance_cpu_seconds_total: 'counter',
  naija_sup_instance_resident_memory_bytes: 'gauge',
  naija_sup_crash_rate_per_minute: 'gauge',
  naija_sup_supervisor_process_cpu_seconds_total: 'counter',
  naija_sup_supervisor_process_resident_memory_bytes: 'gauge',
  naija_sup_supervisor_nodejs_eventloop_lag_seconds: 'gauge',
};

describe('SupervisorMetrics: the exposition', () => {
  it('parses as Prometheus text with HELP and TYPE for every documented metric', async () => {
    const m = metricsWith();
    const families = await scrape(m);
    for (const [name, type] of Object.entries(DOCUMENTED)) {
      const family = families.get(name);
      expect(family, name).toBeDefined();
      expect(family?.type, name).toBe(type);
      expect(family?.help, name).toMatch(/\w/);
    }
    for (const family of families.values()) {
      expect(family.name).toMatch(/^naija_sup_/);
      expect(family.help, family.name).not.toBeNull();
    }
    // Before any event: nothing runs.
    expect(sampleValue(families, 'naija_sup_instance_up')).toBe(0);
    expect(sampleValue(families, 'naija_sup_instance_ready')).toBe(0);
    expect(sampleValue(families, 'naija_sup_instance_cpu_seconds_total')).toBe(0);
    expect(sampleValue(families, 'naija_sup_crash_rate_per_minute')).toBe(0);
    expect(m.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('can leave out the supervisor process metrics', async () => {
    const families = await scrape(metricsWith({ defaultMetrics: false }));
    expect([...families.keys()].some((n) => n.startsWith('naija_sup_supervisor_'))).toBe(false);
    expect(families.has('naija_sup_instance_up')).toBe(true);
  });
});

describe('SupervisorMetrics: fed by events', () => {
  it('follows a lifecycle: up, ready, a kill -9, the backoff restart, a crash with a code', async () => {
    const m = metricsWith();
    m.handle({ type: 'spawning', instance: 1, command: ['node', 'server.js'], port: 8000 });
    m.handle(spawned());
    let f = await scrape(m);
    expect(sampleValue(f, 'naija_sup_instance_up')).toBe(1);
    expect(sampleValue(f, 'naija_sup_instance_ready')).toBe(0);
    expect(m.ready).toBe(false);

    m.handle(ready(1500));
    f = await scrape(m);
    expect(sampleValue(f, 'naija_sup_instance_ready')).toBe(1);
    expect(m.ready).toBe(true);
    expect(sampleValue(f, 'naija_sup_start_duration_seconds_count')).toBe(1);
    expect(sampleValue(f, 'naija_sup_start_duration_seconds_sum')).toBe(1.5);
    expect(sampleValue(f, 'naija_sup_start_duration_seconds_bucket', { le: '1' })).toBe(0);
    expect(sampleValue(f, 'naija_sup_start_duration_seconds_bucket', { le: '2.5' })).toBe(1);
    expect(sampleValue(f, 'naija_sup_start_duration_seconds_bucket', { le: '+Inf' })).toBe(1);

    expect(m.handle(exited({ code: null, signal: 'SIGKILL', cause: 'killed' }))).toBeNull();
    f = await scrape(m);
    expect(sampleValue(f, 'naija_sup_exits_total', { signal: 'SIGKILL' })).toBe(1);
    expect(sampleValue(f, 'naija_sup_instance_up')).toBe(0);
    expect(sampleValue(f, 'naija_sup_instance_ready')).toBe(0);
    expect(sampleValue(f, 'naija_sup_restarts_total', { cause: 'killed' })).toBeUndefined();

    m.handle(backoff());
    m.handle({ type: 'restarting', reason: 'crash' });
    f = await scrape(m);
    expect(sampleValue(f, 'naija_sup_restarts_total', { cause: 'killed' })).toBe(1);

    m.handle(spawned(4243, 2));
    m.handle(exited({ code: 1, cause: 'exit-code' }, false, 4243));
    m.handle(backoff(2));
    f = await scrape(m);
    expect(sampleValue(f, 'naija_sup_exits_total', { code: '1' })).toBe(1);
    expect(sampleValue(f, 'naija_sup_restarts_total', { cause: 'exit-code' })).toBe(1);
    expect(sampleValue(f, 'naija_sup_crash_rate_per_minute')).toBe(2);
    // Label sets carry exactly one of code / signal.
    const exits = f.get('naija_sup_exits_total')?.samples ?? [];
    expect(exits.map((s) => s.labels)).toEqual(expect.arrayContaining([{ signal: 'SIGKILL' }, { code: '1' }]));
  });

  it('counts requested restarts as cause "reload", but not twice when one cuts a backoff short', async () => {
    const m = metricsWith();
    m.handle(spawned());
    m.handle(ready());
    m.handle({ type: 'restarting', reason: 'reload' });
    m.handle({ type: 'stopping', instance: 1, signal: 'SIGTERM', timeoutMs: 5000, reason: 'restart' });
    expect(m.ready).toBe(false);
    m.handle(exited({ code: 0, cause: 'clean-exit' }, true));
    let f = await scrape(m);
    expect(sampleValue(f, 'naija_sup_restarts_total', { cause: 'reload' })).toBe(1);
    // An expected exit is an exit but not a crash.
    expect(sampleValue(f, 'naija_sup_exits_total', { code: '0' })).toBe(1);
    expect(sampleValue(f, 'naija_sup_crash_rate_per_minute')).toBe(0);

    m.handle(spawned(5000, 2));
    m.handle(exited({ code: 3, cause: 'exit-code' }, false, 5000));
    m.handle(backoff());
    m.handle({ type: 'restarting', reason: 'reload' }); // skips the rest of the wait
    f = await scrape(m);
    expect(sampleValue(f, 'naija_sup_restarts_total', { cause: 'reload' })).toBe(1);
    expect(sampleValue(f, 'naija_sup_restarts_total', { cause: 'exit-code' })).toBe(1);
  });

  it('does not count a clean exit restarted by policy "always" as a crash', async () => {
    const m = metricsWith();
    m.handle(spawned());
    m.handle(exited({ code: 0, cause: 'clean-exit' }, false));
    m.handle(backoff());
    const f = await scrape(m);
    expect(sampleValue(f, 'naija_sup_restarts_total', { cause: 'clean-exit' })).toBe(1);
    expect(sampleValue(f, 'naija_sup_crash_rate_per_minute')).toBe(0);
  });

  it('records probe latencies and failures by probe, and the last probe', async () => {
    const m = metricsWith();
    m.handle({ type: 'probe', instance: 1, ok: false, detail: 'connection refused', latencyMs: 0.4, first: true });
    m.handle({ type: 'probe', instance: 1, ok: true, detail: '200 OK in 3 ms', latencyMs: 3, first: false });
    m.handle({ type: 'probe', instance: 1, ok: false, detail: 'timed out after 1000 ms', latencyMs: 1000, first: false, probe: 'liveness' });
    m.handle({ type: 'probe', instance: 1, ok: true, detail: '200 OK in 7 ms', latencyMs: 7, first: false, probe: 'readiness' });
    const f = await scrape(m);
    expect(sampleValue(f, 'naija_sup_probe_duration_seconds_count', { probe: 'startup' })).toBe(2);
    expect(sampleValue(f, 'naija_sup_probe_duration_seconds_count', { probe: 'liveness' })).toBe(1);
    expect(sampleValue(f, 'naija_sup_probe_duration_seconds_bucket', { probe: 'liveness', le: '0.5' })).toBe(0);
    expect(sampleValue(f, 'naija_sup_probe_duration_seconds_bucket', { probe: 'liveness', le: '1' })).toBe(1);
    expect(sampleValue(f, 'naija_sup_probe_duration_seconds_sum', { probe: 'readiness' })).toBeCloseTo(0.007, 6);
    expect(sampleValue(f, 'naija_sup_probe_failures_total', { probe: 'startup' })).toBe(1);
    expect(sampleValue(f, 'naija_sup_probe_failures_total', { probe: 'liveness' })).toBe(1);
    expect(sampleValue(f, 'naija_sup_probe_failures_total', { probe: 'readiness' })).toBeUndefined();
    expect(m.lastProbe).toMatchObject({ probe: 'readiness', ok: true, latencyMs: 7, detail: '200 OK in 7 ms' });
  });

  it('follows the readiness probe while ready', async () => {
    const m = metricsWith();
    m.handle(spawned());
    m.handle(ready());
    m.handle({ type: 'readiness-changed', instance: 1, ready: false, detail: 'HTTP 503' });
    expect(m.ready).toBe(false);
    expect(sampleValue(await scrape(m), 'naija_sup_instance_ready')).toBe(0);
    m.handle({ type: 'readiness-changed', instance: 1, ready: true, detail: '200 OK' });
    expect(m.ready).toBe(true);
    expect(sampleValue(await scrape(m), 'naija_sup_instance_ready')).toBe(1);
    // A new instance starts from "ready when its startup probe passes", whatever the old one did.
    m.handle({ type: 'readiness-changed', instance: 1, ready: false, detail: 'HTTP 503' });
    m.handle({ type: 'liveness-failed', instance: 1, failures: 3, detail: 'timed out' });
    m.handle(exited({ cause: 'liveness-failed' }));
    m.handle(spawned(4300, 2));
    m.handle(ready(50, 4300));
    expect(m.ready).toBe(true);
    for (const event of [{ type: 'fatal', reason: 'x', exit: null, exitStatus: 1 }, { type: 'stopped', exitStatus: 0, graceful: true }] as const) {
      m.handle(spawned());
      m.handle(ready());
      m.handle(event);
      expect(m.ready).toBe(false);
      expect(m.running).toBe(false);
    }
  });

  it('knows the current pid from the events, and ignores an old instance exiting after a new one started', async () => {
    const m = metricsWith();
    expect(m.pid).toBeNull();
    m.handle(spawned(100, 1));
    m.handle(ready(50, 100));
    expect(m.pid).toBe(100);
    // Blue/green: instance 2 starts beside 1, then 1 is stopped.
    m.handle(spawned(200, 2));
    m.handle(ready(50, 200));
    m.handle({ type: 'exited', instance: 1, pid: 100, exit: { ...exited().exit, code: 0, cause: 'clean-exit' }, expected: true });
    expect(m.pid).toBe(200);
    expect(m.ready).toBe(true);
    expect(m.running).toBe(true);
    const f = await scrape(m);
    expect(sampleValue(f, 'naija_sup_instance_up')).toBe(1);
    expect(sampleValue(f, 'naija_sup_exits_total', { code: '0' })).toBe(1);
    m.handle({ type: 'exited', instance: 2, pid: 200, exit: exited().exit, expected: false });
    expect(m.pid).toBeNull();
    expect(m.running).toBe(false);
  });

  it('tells blue from green by pid: each is instance 1 of its own supervisor', async () => {
    const m = metricsWith();
    m.handle(spawned(100, 1));
    m.handle(ready(50, 100));
    m.handle(spawned(200, 1)); // green: the first instance of the reload's new supervisor
    m.handle(ready(50, 200));
    m.handle({ type: 'exited', instance: 1, pid: 100, exit: { ...exited().exit, code: 0, cause: 'clean-exit' }, expected: true });
    expect(m.pid).toBe(200);
    expect(m.ready).toBe(true);
    expect(m.running).toBe(true);
    expect(sampleValue(await scrape(m), 'naija_sup_instance_up')).toBe(1);
  });

  it('keeps the last result of each dependency', async () => {
    const m = metricsWith();
    m.handle({ type: 'dependency', name: 'postgres', target: '127.0.0.1:5432', ok: false, attempts: 4, latencyMs: 0.3, detail: 'connection refused' });
    m.handle({ type: 'dependency', name: 'redis', target: '127.0.0.1:6379', ok: true, attempts: 1, latencyMs: 0.2, detail: 'connected' });
    let f = await scrape(m);
    expect(sampleValue(f, 'naija_sup_dependency_up', { name: 'postgres' })).toBe(0);
    expect(sampleValue(f, 'naija_sup_dependency_up', { name: 'redis' })).toBe(1);
    m.handle({ type: 'dependency', name: 'postgres', target: '127.0.0.1:5432', ok: true, attempts: 2, latencyMs: 0.5, detail: 'connected' });
    f = await scrape(m);
    expect(sampleValue(f, 'naija_sup_dependency_up', { name: 'postgres' })).toBe(1);
    expect(m.dependencies.map((d) => [d.name, d.ok, d.attempts])).toEqual([['postgres', true, 2], ['redis', true, 1]]);
  });

  it('returns the crash-rate warning from handle() when a crash crosses alerts.crashRate', () => {
    vi.useFakeTimers({ now: new Date('2025-01-01T00:00:00Z') });
    try {
      const m = metricsWith({ crashRate: 1 });
      expect(m.handle(exited({ cause: 'exit-code' }))).toBeNull();
      vi.advanceTimersByTime(5000);
      // An expected exit (a stop) is not a crash.
      expect(m.handle(exited({ cause: 'exit-code' }, true))).toBeNull();
      const warning = m.handle(exited({ code: null, signal: 'SIGSEGV', cause: 'killed' }));
      expect(warning).toMatchObject({ type: 'warning' });
      expect(m.crashes.perMinute()).toBe(2);
      vi.advanceTimersByTime(60_000);
      expect(m.crashes.perMinute()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('SupervisorMetrics: instance CPU and RSS from /proc', () => {
  let proc: UsageProc;
  beforeEach(() => {
    proc = createUsageProc();
  });
  afterEach(() => proc.cleanup());

  it('sums RSS over the live group members and counts CPU as deltas, across restarts', async () => {
    let pid: number | null = 100;
    const m = metricsWith({ proc: createProc(proc.root), instancePid: () => pid, maxSampleAgeMs: 0 });
    proc.set({ pid: 100, pgid: 100, utime: 150, stime: 50, rssKb: 40_000 });
    proc.set({ pid: 101, pgid: 100, utime: 10, stime: 0, rssKb: 10_000 });
    proc.set({ pid: 102, pgid: 100, state: 'Z', utime: 999, stime: 999 });
    proc.set({ pid: 200, pgid: 200, utime: 5000, stime: 5000, rssKb: 99_999 });
    let s = await m.sample();
    expect(s).toMatchObject({ rssBytes: 50_000 * 1024, processes: 2 });
    expect(s.cpuSeconds).toBeCloseTo(2.1, 9);

    // Only the growth is added; a process that left the group is forgotten.
    proc.set({ pid: 100, pgid: 100, utime: 250, stime: 50, rssKb: 42_000 });
    proc.remove(101);
    s = await m.sample();
    expect(s).toMatchObject({ rssBytes: 42_000 * 1024, processes: 1 });
    expect(s.cpuSeconds).toBeCloseTo(3.1, 9);

    // No instance: RSS 0, the CPU counter keeps its total.
    pid = null;
    s = await m.sample();
    expect(s).toMatchObject({ rssBytes: 0, processes: 0 });
    let f = await scrape(m);
    expect(sampleValue(f, 'naija_sup_instance_resident_memory_bytes')).toBe(0);
    expect(sampleValue(f, 'naija_sup_instance_cpu_seconds_total')).toBeCloseTo(3.1, 9);

    // A new instance reusing pid 100 (another start time) counts from its own zero.
    pid = 100;
    proc.set({ pid: 100, pgid: 100, utime: 30, stime: 20, rssKb: 1_000, startTime: '5000' });
    f = await scrape(m); // a scrape samples when the last sample is stale (maxSampleAgeMs 0 here)
    expect(sampleValue(f, 'naija_sup_instance_cpu_seconds_total')).toBeCloseTo(3.6, 9);
    expect(sampleValue(f, 'naija_sup_instance_resident_memory_bytes')).toBe(1_000 * 1024);
    expect(m.usage).toMatchObject({ rssBytes: 1_024_000, processes: 1 });
  });

  it('reads nothing from a missing /proc, and labels exits', async () => {
    expect(await readGroupUsage(1, { proc: createProc('/nonexistent-proc-root') })).toEqual([]);
    expect(exitLabels({ code: null, signal: null })).toEqual({ code: 'unknown' });
    expect(exitLabels({ code: 127, signal: null })).toEqual({ code: '127' });
  });

  it('samples periodically on its own timer and stops on close()', async () => {
    // Only the interval is faked: the /proc reads are real file I/O.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      proc.set({ pid: 300, pgid: 300, utime: 100, stime: 0, rssKb: 2_000 });
      const m = new SupervisorMetrics({ proc: createProc(proc.root), instancePid: () => 300, sampleIntervalMs: 1000, defaultMetrics: false });
      expect(m.usage).toBeNull();
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(1000);
      await waitFor(() => m.usage, { message: 'a periodic sample' });
      expect(m.usage).toMatchObject({ rssBytes: 2_048_000, cpuSeconds: 1 });
      m.close();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('shares one scan between concurrent callers', async () => {
    proc.set({ pid: 400, pgid: 400, utime: 100, stime: 0, rssKb: 1 });
    const m = metricsWith({ proc: createProc(proc.root), instancePid: () => 400 });
    const [a, b] = await Promise.all([m.sample(), m.sample()]);
    expect(a).toBe(b);
    // Counted once, not twice.
    expect(a.cpuSeconds).toBe(1);
  });
});

describe('SupervisorMetrics: a real process group', () => {
  afterEach(() => {
    killAllTracked();
  });

  it('reads the RSS and CPU of a running fixture and its worker', async () => {
    const app = await startFixture('forks-worker.mjs');
    const m = metricsWith({ instancePid: () => app.pid });
    const usage = await m.sample();
    expect(usage.processes).toBe(2);
    // Two Node processes: tens of MB each.
    expect(usage.rssBytes).toBeGreaterThan(20 * 1024 * 1024);
    expect(usage.rssBytes).toBeLessThan(2 * 1024 * 1024 * 1024);
    // Node spends some CPU just starting up (a few clock ticks at least).
    expect(usage.cpuSeconds).toBeGreaterThan(0);
    await app.stop();
    const workerPid = app.workerPid;
    await assertAllGone(workerPid === null ? [app.pid] : [app.pid, workerPid]);
    expect(await m.sample()).toMatchObject({ processes: 0, rssBytes: 0 });
  });
});
