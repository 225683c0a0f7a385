/**
 * Per-instance rows and series (src/metrics/instances.ts, issue 20) over a fake /proc and fake
 * instances: RSS and CPU per process group, CPU counted across a replacement, the proxy's requests
 * followed from one process of an instance to the next, /health's rows and total, and the
 * Prometheus text (strict parser).
 */
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InstanceMetrics, type InstanceView } from '../../src/metrics/instances.js';
import { createProc } from '../../src/process/proc-read.js';
import type { HttpProxyStats, HttpTargetStats } from '../../src/reload/http-proxy-stats.js';
import type { State } from '../../src/supervisor/machine.js';
import { createUsageProc, type UsageProc } from './helpers.js';
import { parsePrometheusText, sampleValue } from './prom-text.js';

function member(index: number, state: State, port: number, restarts = 0, readyForTraffic = state.tag === 'ready'): InstanceView {
  return { index, supervisor: { state, context: { restarts, lastExit: restarts > 0 ? { summary: 'killed by SIGKILL' } : null }, readyForTraffic, currentConfig: { port } } };
}
const ready = (pid: number): State => ({ tag: 'ready', instance: 1, pid, since: 0, readyAt: 0 });

function target(id: string, requests: number): HttpTargetStats {
  return {
    id, port: Number(id), current: true, requests, inFlight: 0,
    responses: { '1xx': 0, '2xx': requests, '3xx': 0, '4xx': 0, '5xx': 0 }, retries: 0, upstreamErrors: 0,
    duration: { buckets: [], counts: [], sum: 0, count: requests },
  };
}
function proxy(...targets: HttpTargetStats[]): HttpProxyStats {
  return { received: 0, queued: 0, queuedTotal: 0, queueTimeouts: 0, clientErrors: 0, bodyTooLarge: 0, targets };
}

let proc: UsageProc;
let clock = 0;
beforeEach(() => {
  proc = createUsageProc();
  clock = 10_000;
});
afterEach(() => proc.cleanup());

describe('InstanceMetrics', () => {
  it('a row per instance with its own group\'s RSS and CPU, and the total; CPU counted across a replacement', async () => {
    let members = [member(0, ready(100), 5001), member(1, ready(200), 5002, 2), member(2, { tag: 'backoff', until: 0, delayMs: 100 }, 5003, 1)];
    const m = new InstanceMetrics({ members: () => members, proc: createProc(proc.root), now: () => clock, sampleIntervalMs: 0 });
    proc.set({ pid: 100, pgid: 100, utime: 100, stime: 0, rssKb: 40_000 });
    proc.set({ pid: 101, pgid: 100, utime: 50, stime: 50, rssKb: 10_000 });
    proc.set({ pid: 200, pgid: 200, utime: 300, stime: 0, rssKb: 20_000 });
    proc.set({ pid: 300, pgid: 300, utime: 999, stime: 0, rssKb: 99_999 }); // nobody's
    expect(m.rows().map((r) => r.rssBytes)).toEqual([null, null, null]);
    await m.sample();
    let rows = m.rows();
    expect(rows.map((r) => [r.index, r.state, r.ready, r.pid, r.restarts, r.rssBytes, r.cpuSeconds, r.cpuPercent, r.requests])).toEqual([
      [0, 'ready', true, 100, 0, 50_000 * 1024, 2, null, null],
      [1, 'ready', true, 200, 2, 20_000 * 1024, 3, null, null],
      [2, 'backoff', false, null, 1, 0, 0, null, null],
    ]);
    expect(rows[1]?.lastExit).toBe('killed by SIGKILL');
    expect(m.health().total).toEqual({ instances: 3, ready: 2, restarts: 3, rssBytes: 70_000 * 1024, cpuPercent: null, requests: null });

    // 2 s later: instance 0 used 1 s more (50 %); instance 1 was replaced by pid 210, which used 0.5 s.
    clock += 2000;
    proc.set({ pid: 100, pgid: 100, utime: 200, stime: 0, rssKb: 40_000 });
    proc.remove(200);
    proc.set({ pid: 210, pgid: 210, utime: 50, stime: 0, rssKb: 30_000 });
    members = [members[0] as InstanceView, member(1, ready(210), 5012, 2), members[2] as InstanceView];
    await m.sample();
    rows = m.rows();
    expect(rows.map((r) => [r.pid, r.cpuSeconds, r.cpuPercent, r.rssBytes])).toEqual([
      [100, 3, 50, 50_000 * 1024],
      [210, 3.5, 25, 30_000 * 1024],
      [null, 0, null, 0],
    ]);
    expect(m.health().total?.cpuPercent).toBe(75);
  });

  it('/health gets rows only for more than one instance', () => {
    const one = new InstanceMetrics({ members: () => [member(0, ready(100), 5001)], proc: createProc(proc.root), sampleIntervalMs: 0 });
    expect(one.health()).toEqual({});
    expect(one.rows()).toHaveLength(1);
  });

  it('counts the proxy\'s requests per instance, following it from one process to the next', () => {
    let members = [member(0, ready(100), 5001), member(1, ready(200), 5002)];
    let stats = proxy(target('5001', 10), target('5002', 4));
    const m = new InstanceMetrics({ members: () => members, proxyStats: () => stats, proc: createProc(proc.root), sampleIntervalMs: 0 });
    expect(m.rows().map((r) => r.requests)).toEqual([10, 4]);
    // Instance 1 reloaded: its new process is 5012; the old one (retired) still answered 2 more.
    members = [members[0] as InstanceView, member(1, ready(210), 5012)];
    stats = proxy(target('5001', 15), target('5002', 6), target('5012', 3));
    expect(m.rows().map((r) => r.requests)).toEqual([15, 6 + 3]);
    // The proxy forgot the retired one: nothing is lost, nothing counted twice.
    stats = proxy(target('5001', 15), target('5012', 7));
    expect(m.rows().map((r) => r.requests)).toEqual([15, 13]);
    expect(m.health().total?.requests).toBe(28);
  });

  it('exposes per-instance families labelled index; the state is a state set', async () => {
    const registry = new Registry();
    const m = new InstanceMetrics({
      members: () => [member(0, ready(100), 5001), member(1, { tag: 'starting', instance: 1, pid: 200, since: 0, spawnedAt: 0 }, 5002, 1)],
      proxyStats: () => proxy(target('5001', 8)),
      proc: createProc(proc.root), now: () => clock, sampleIntervalMs: 0, maxSampleAgeMs: 0,
    });
    m.register(registry);
    proc.set({ pid: 100, pgid: 100, utime: 100, stime: 20, rssKb: 1_000 });
    proc.set({ pid: 200, pgid: 200, utime: 10, stime: 0, rssKb: 2_000 });
    const f = parsePrometheusText(await registry.metrics());
    expect(sampleValue(f, 'naija_sup_app_instance_pid', { index: '0' })).toBe(100);
    expect(sampleValue(f, 'naija_sup_app_instance_pid', { index: '1' })).toBe(200);
    expect(sampleValue(f, 'naija_sup_app_instance_up', { index: '1' })).toBe(1);
    expect(sampleValue(f, 'naija_sup_app_instance_ready', { index: '0' })).toBe(1);
    expect(sampleValue(f, 'naija_sup_app_instance_ready', { index: '1' })).toBe(0);
    expect(sampleValue(f, 'naija_sup_app_instance_state', { index: '1', state: 'starting' })).toBe(1);
    expect(sampleValue(f, 'naija_sup_app_instance_state', { index: '1', state: 'ready' })).toBe(0);
    expect(f.get('naija_sup_app_instance_state')?.samples).toHaveLength(16);
    expect(sampleValue(f, 'naija_sup_app_instance_restarts_total', { index: '1' })).toBe(1);
    expect(sampleValue(f, 'naija_sup_app_instance_resident_memory_bytes', { index: '1' })).toBe(2_000 * 1024);
    expect(sampleValue(f, 'naija_sup_app_instance_cpu_seconds_total', { index: '0' })).toBe(1.2);
    expect(sampleValue(f, 'naija_sup_app_instance_requests_total', { index: '0' })).toBe(8);
    expect(sampleValue(f, 'naija_sup_app_instance_requests_total', { index: '1' })).toBe(0);
    expect(f.get('naija_sup_app_instance_cpu_seconds_total')?.type).toBe('counter');
  });
});
