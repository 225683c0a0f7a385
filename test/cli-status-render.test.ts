/**
 * `status`'s health rows (issue 12): the current health comes only from a liveness or readiness
 * probe; a passed startup probe is shown as the last probe, with its kind and age, never as health.
 */
import { describe, expect, it } from 'vitest';
import { renderStatus } from '../src/cli/commands/status.js';
import type { HealthSnapshot, StatusSnapshot } from '../src/control/protocol.js';

const NOW = Date.parse('2026-01-01T00:10:00.000Z');

function snapshot(extra: Partial<StatusSnapshot>): StatusSnapshot {
  return {
    name: 'api', state: 'ready', supervisorPid: 10, supervisorStartTime: '1', instancePid: 11, instanceStartTime: '2', bootId: 'b',
    port: 8000, host: '127.0.0.1', mode: 'direct', url: 'http://127.0.0.1:8000', uptimeMs: 60_000, instanceUptimeMs: 60_000,
    restarts: 0, lastExit: null, health: null, lastProbe: null, healthWatchedBy: [], cwd: '/srv/api', rss: null, cpuPercent: null,
    startupTimeoutMs: 30_000, shutdownTimeoutMs: 10_000, version: '0.0.0-test', ...extra,
  };
}

const probe = (kind: HealthSnapshot['probe'], ok: boolean, agoMs: number): HealthSnapshot =>
  ({ ok, detail: ok ? '200 OK in 3 ms' : 'HTTP 500', latencyMs: 3, at: new Date(NOW - agoMs).toISOString(), probe: kind });

function row(text: string, key: string): string | undefined {
  return text.split('\n').find((l) => l.startsWith(`${key} `))?.slice(key.length).trim();
}

describe('status health rows', () => {
  it('no liveness or readiness probe: health is not watched; the startup probe is only the last probe', () => {
    const text = renderStatus(snapshot({ lastProbe: probe('startup', true, 180_000) }), NOW);
    expect(row(text, 'health')).toBe('not watched (no liveness or readiness probe configured)');
    expect(row(text, 'last probe')).toBe('startup, ok, 3 ms, 3m 0s ago: 200 OK in 3 ms');
  });

  it('a liveness probe configured but not run yet: says so, even though the startup probe passed', () => {
    const text = renderStatus(snapshot({ healthWatchedBy: ['liveness'], lastProbe: probe('startup', true, 1000) }), NOW);
    expect(row(text, 'health')).toBe('watched by the liveness probe, no result yet');
  });

  it('a failing readiness probe is the health, with its kind and age', () => {
    const last = probe('readiness', false, 2000);
    const text = renderStatus(snapshot({ healthWatchedBy: ['liveness', 'readiness'], health: last, lastProbe: last }), NOW);
    expect(row(text, 'health')).toBe('failing, 3 ms, 2 s ago: HTTP 500 (readiness probe)');
    expect(row(text, 'last probe')).toMatch(/^readiness, failing, /);
  });

  it('a failing webhook is a row of its own, with its last error; a working one says ok; none without webhooks', () => {
    const text = renderStatus(snapshot({ webhooks: [
      { url: 'https://hooks.example/[redacted]', delivered: 3, failed: 1, failing: true, lastError: 'answered HTTP 500 (after 4 attempts)' },
    ] }), NOW);
    expect(row(text, 'webhook')).toBe('https://hooks.example/[redacted]: FAILING (answered HTTP 500 (after 4 attempts)), 3 delivered, 1 failed');
    expect(row(renderStatus(snapshot({ webhooks: [{ url: 'http://127.0.0.1:9/x', delivered: 1, failed: 0, failing: false, lastError: null }] }), NOW), 'webhook')).toBe('http://127.0.0.1:9/x: ok, 1 delivered, 0 failed');
    expect(renderStatus(snapshot({}), NOW)).not.toContain('webhook');
  });

  it('an app with several instances (issue 20): a row per instance and the total; none with one', () => {
    const text = renderStatus(snapshot({
      mode: 'proxy',
      instances: [
        { index: 0, state: 'ready', pid: 11, restarts: 0, rss: 30 * 1024 * 1024, cpuPercent: 12.5, lastExit: null },
        { index: 1, state: 'backoff', pid: null, restarts: 2, rss: null, cpuPercent: null, lastExit: 'exited with code 1' },
      ],
      total: { instances: 2, ready: 1, restarts: 2, rss: 30 * 1024 * 1024, cpuPercent: 12.5 },
    }), NOW);
    expect(row(text, 'instance #0')).toBe('pid 11, ready, restarts 0, 30.0 MiB RSS, 12.5% cpu');
    expect(row(text, 'instance #1')).toBe('no process, backoff, restarts 2, - RSS, - cpu; last exit: exited with code 1');
    expect(row(text, 'total')).toBe('1/2 ready, restarts 2, 30.0 MiB RSS, 12.5% cpu');
    expect(renderStatus(snapshot({}), NOW)).not.toContain('instance #');
  });
});
