/**
 * StatusTracker's instance uptime: a promoted warm standby (restart.standby) was started long
 * before it became the instance, so the uptime counts from its 'spawned' event, not from its /proc
 * start time. The "instance" here is this test process itself: it has been running for a while, as
 * a parked standby would have.
 */
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import { StatusTracker, type SupervisorView } from '../../src/control/server.js';

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
