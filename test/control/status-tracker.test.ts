/**
 * StatusTracker's instance uptime: a promoted warm standby (restart.standby) was started long
 * before it became the instance, so the uptime counts from its 'spawned' event, not from its /proc
 * start time. The "instance" here is this test process itself: it has been running for a while, as
 * a parked standby would have. And its health: only liveness/readiness results are the current
 * health; a startup probe is only the last probe (issue 12).
 */
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import { StatusTracker, type SupervisorView } from '../../src/control/status-tracker.js';
import { createProc, type Proc } from '../../src/process/proc-read.js';
import { createFakeProc } from '../helpers/processes.js';

const config = resolveConfig({ file: { name: 'api', command: ['node', 'server.js'], port: 8000 }, filepath: '/tmp/naija-sup-status-tracker/.naija-suprc.json', cwd: '/tmp', env: {}, requireCommand: true }).config;

function tracker(now: () => number): StatusTracker {
  const view: SupervisorView = {
    state: { tag: 'ready', pid: process.pid } as { tag: string },
    context: { restarts: 1, lastExit: null },
    currentConfig: config,
    lastProbeResult: null,
  };
  return new StatusTracker({ view: () => view, version: '0.0.0-test', now });
}

describe('StatusTracker instance uptime', () => {
  it('counts from the spawned event of the instance pid, not from when the process was started', () => {
    let now = 1_000_000;
    const t = tracker(() => now);
    const fromProc = t.snapshot().instanceUptimeMs;
    expect(fromProc).toBeGreaterThan(50); // this process started before the test ran

    t.observe({ type: 'spawned', instance: 2, pid: process.pid, durationMs: 1 });
    now += 5;
    expect(t.snapshot().instanceUptimeMs).toBe(5);
  });

  it('falls back to /proc for a pid it saw no spawned event for', () => {
    const t = tracker(() => 1_000_000);
    t.observe({ type: 'spawned', instance: 1, pid: process.pid + 1_000_000, durationMs: 1 });
    expect(t.snapshot().instanceUptimeMs).toBeGreaterThan(50);
  });
});

describe('StatusTracker health (issue 12): a startup probe is never the current health', () => {
  const probeEvent = (probe: 'startup' | 'liveness' | 'readiness' | undefined, ok: boolean, instance = 1) =>
    ({ type: 'probe', instance, ok, detail: `${probe ?? 'untagged'} ${ok ? 'ok' : 'failed'}`, latencyMs: 3, first: false, ...(probe === undefined ? {} : { probe }) }) as const;

  function trackerFor(health: Record<string, unknown>, lastProbeResult?: SupervisorView['lastProbeResult']): StatusTracker {
    const cfg = resolveConfig({ file: { name: 'api', command: ['node', 'server.js'], port: 8000, health }, filepath: '/tmp/naija-sup-status-tracker/.naija-suprc.json', cwd: '/tmp', env: {}, requireCommand: true }).config;
    const view: SupervisorView = {
      state: { tag: 'ready', pid: process.pid } as { tag: string },
      context: { restarts: 0, lastExit: null },
      currentConfig: cfg,
      ...(lastProbeResult === undefined ? {} : { lastProbeResult }),
    };
    return new StatusTracker({ view: () => view, version: '0.0.0-test', now: () => 1_000_000 });
  }

  it('without liveness or readiness: health stays null, nobody watches it, the startup probe is the last probe', () => {
    const t = trackerFor({});
    t.observe(probeEvent('startup', true));
    t.observe(probeEvent(undefined, true)); // an untagged probe event is a startup probe
    const s = t.snapshot();
    expect(s.health).toBeNull();
    expect(s.healthWatchedBy).toEqual([]);
    expect(s.lastProbe).toMatchObject({ ok: true, probe: 'startup', detail: 'untagged ok' });
    expect(s.cwd).toBe('/tmp/naija-sup-status-tracker'); // the config file's folder
  });

  it('with a liveness probe: health is its last result, and is forgotten when that instance exits', () => {
    const t = trackerFor({ liveness: { path: '/health' } });
    t.observe(probeEvent('startup', true));
    expect(t.snapshot()).toMatchObject({ health: null, healthWatchedBy: ['liveness'], lastProbe: { probe: 'startup' } });
    t.observe(probeEvent('liveness', false));
    expect(t.snapshot().health).toMatchObject({ ok: false, probe: 'liveness', detail: 'liveness failed', at: new Date(1_000_000).toISOString() });
    t.observe(probeEvent('startup', true, 2)); // another instance's startup does not replace it
    expect(t.snapshot().health).toMatchObject({ probe: 'liveness' });
    t.observe({ type: 'exited', instance: 1, pid: 1, expected: false, exit: { code: 1, signal: null, cause: 'exit-code', summary: 'exited with code 1', fix: '', at: 0, uptimeMs: 1, stderrTail: [] } });
    expect(t.snapshot().health).toBeNull();
  });

  it('with a readiness probe: its results are the health; the view\'s last probe names its kind', () => {
    const t = trackerFor({ readiness: true }, { ok: true, detail: 'ready ok', latencyMs: 2, at: 5, kind: 'readiness' });
    t.observe(probeEvent('readiness', true));
    const s = t.snapshot();
    expect(s.healthWatchedBy).toEqual(['readiness']);
    expect(s.health).toMatchObject({ ok: true, probe: 'readiness' });
    expect(s.lastProbe).toEqual({ ok: true, detail: 'ready ok', latencyMs: 2, at: new Date(5).toISOString(), probe: 'readiness' });
  });
});

describe('StatusTracker RSS and CPU: one /proc pass per snapshot', () => {
  /** `real` with its whole-tree passes counted (pids() starts each one). */
  function counting(real: Proc): { proc: Proc; passes: () => number } {
    let passes = 0;
    return { proc: { ...real, pids: () => { passes += 1; return real.pids(); } }, passes: () => passes };
  }
  const view = (pid: number, processes?: SupervisorView['instanceProcesses']): SupervisorView => ({
    state: { tag: 'ready', pid } as { tag: string },
    context: { restarts: 0, lastExit: null },
    currentConfig: config,
    lastProbeResult: null,
    ...(processes === undefined ? {} : { instanceProcesses: processes }),
  });

  it("counts the group from the instance's processes, which the tracker listed in its own pass", () => {
    const { proc, passes } = counting(createProc());
    const startTime = String(createProc().stat(process.pid)?.startTime);
    const t = new StatusTracker({ view: () => view(process.pid, () => [{ pid: process.pid, startTime, pgid: process.pid }]), version: '0.0.0-test', now: () => 1_000_000, proc });
    const s = t.snapshot();
    expect(passes()).toBe(0);
    expect(s.rss).toBeGreaterThan(0); // this process's VmRSS
    expect(s.processes).toEqual([{ pid: process.pid, startTime }]); // pgid stays out of the reply
  });

  it('lists the group itself when the processes do not name the instance, or not their groups', () => {
    const fake = createFakeProc();
    try {
      fake.add({ pid: 500, pgid: 500 });
      fake.add({ pid: 501, pgid: 500, ppid: 500 });
      for (const processes of [undefined, () => [], () => [{ pid: 500, startTime: '1000' }], () => [{ pid: 501, startTime: '1000', pgid: 500 }]]) {
        const { proc, passes } = counting(createProc(fake.root));
        new StatusTracker({ view: () => view(500, processes), version: '0.0.0-test', now: () => 1_000_000, proc }).snapshot();
        expect(passes()).toBe(1);
      }
    } finally {
      fake.cleanup();
    }
  });
});

describe('StatusTracker warnings', () => {
  it('keeps the last 8, one entry per message at its last time with a count, and none until one is said', () => {
    let now = Date.UTC(2026, 11, 5, 8, 0, 0);
    const t = tracker(() => now);
    expect(t.snapshot().warnings).toBeUndefined();
    t.observe({ type: 'warning', message: 'stopped pid 42 (python3 -m http.server), which held port 8000' });
    now += 1000;
    t.observe({ type: 'warning', message: 'listens on [::]:8000, not on 127.0.0.1', fix: 'make it read HOST' });
    now += 1000;
    t.observe({ type: 'warning', message: 'stopped pid 42 (python3 -m http.server), which held port 8000' });
    expect(t.snapshot().warnings).toEqual([
      { at: '2026-12-05T08:00:01.000Z', message: 'listens on [::]:8000, not on 127.0.0.1', count: 1, fix: 'make it read HOST' },
      { at: '2026-12-05T08:00:02.000Z', message: 'stopped pid 42 (python3 -m http.server), which held port 8000', count: 2 },
    ]);
    for (let i = 0; i < 10; i += 1) t.observe({ type: 'warning', message: `warning ${i}` });
    expect(t.snapshot().warnings?.map((w) => w.message)).toEqual(['warning 2', 'warning 3', 'warning 4', 'warning 5', 'warning 6', 'warning 7', 'warning 8', 'warning 9']);
    // A snapshot is a copy: what a client does with it does not change the next one.
    t.snapshot().warnings?.splice(0);
    expect(t.snapshot().warnings).toHaveLength(8);
  });
});
