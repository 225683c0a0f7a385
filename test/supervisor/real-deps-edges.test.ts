/**
 * The real deps at their edges: the clock's 0 ms timers, the environment an instance gets (BCRYPT_FALLBACK, the drain
 * budget), signals for a pid whose identity was never recorded (none sent), a record for a process
 * /proc no longer shows, a PID file that cannot be written, and the liveness and readiness probes'
 * own settings. Real processes and sockets on 127.0.0.1.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFile, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readRecord } from '../../src/control/record.js';
import { DescendantTracker } from '../../src/process/descendants.js';
import type { SupervisorEvent } from '../../src/supervisor/events.js';
import { instanceEnv, realClock, realDeps } from '../../src/supervisor/real-deps.js';
import { assertAllGone, isRunning, killAllTracked, track, trackedPids } from '../helpers/processes.js';
import { runnerConfig } from '../helpers/runner-config.js';
import { freePort } from '../helpers/supervise.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'naija-sup-deps-'));
});
afterEach(async () => {
  try {
    await assertAllGone([...trackedPids.keys()], 5000);
  } finally {
    killAllTracked();
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('realClock', () => {
  it('runs a 0 ms timer at the next turn of the event loop, ahead of a setTimeout(0) set before it', async () => {
    // From an I/O callback, Node runs immediates before the timers phase comes round again (its
    // docs say so); setTimeout(fn, 0) waits at least 1 ms. A clock that used it would run second.
    const ran = await new Promise<string[]>((resolve) => {
      readFile(import.meta.filename, () => {
        const order: string[] = [];
        setTimeout(() => order.push('setTimeout(0)'), 0);
        realClock.setTimeout(() => order.push('clock, 0 ms'), 0);
        setTimeout(() => resolve(order), 20);
      });
    });
    expect(ran).toEqual(['clock, 0 ms', 'setTimeout(0)']);
  });

  it('cancels either kind of timer', () => {
    vi.useFakeTimers();
    try {
      const ran: string[] = [];
      realClock.clearTimeout(realClock.setTimeout(() => ran.push('0 ms'), 0));
      realClock.clearTimeout(realClock.setTimeout(() => ran.push('1 ms'), 1));
      realClock.setTimeout(() => ran.push('2 ms, kept'), 2);
      vi.advanceTimersByTime(100);
      expect(ran).toEqual(['2 ms, kept']);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('instanceEnv', () => {
  it('sets BCRYPT_FALLBACK for bcrypt.fallback unless the user set it, and a drain budget of at least 1 s', () => {
    const fallback = runnerConfig({ bcrypt: { fallback: true }, shutdown: { signal: 'SIGTERM', timeout: 500 } });
    expect(instanceEnv(fallback, {})).toMatchObject({ BCRYPT_FALLBACK: 'true', GRACEFUL_TIMEOUT: '1', PORT: '8000', HOST: '127.0.0.1' });
    expect(instanceEnv({ ...fallback, env: { BCRYPT_FALLBACK: 'false', GRACEFUL_TIMEOUT: '30' } }, {})).toMatchObject({ BCRYPT_FALLBACK: 'false', GRACEFUL_TIMEOUT: '30' });
    expect(instanceEnv(runnerConfig({ shutdown: { signal: 'SIGTERM', timeout: 10_000 } }), {})).toMatchObject({ GRACEFUL_TIMEOUT: '9' });
    expect(instanceEnv(runnerConfig(), {})['BCRYPT_FALLBACK']).toBeUndefined();
  });
});

describe('realDeps', () => {
  it('never signals a pid whose identity it did not record', async () => {
    const child = spawn('/bin/sleep', ['30'], { stdio: 'ignore', detached: true });
    const pid = child.pid as number;
    track(pid);
    const deps = realDeps({ runDir: dir, baseEnv: {}, onEvent: () => undefined });
    deps.signalGroup(pid, 'SIGKILL');
    deps.signalInstance?.(pid, 'SIGKILL');
    expect(isRunning(pid)).toBe(true);
    process.kill(-pid, 'SIGKILL');
    await once(child, 'exit');
  });

  it('takes a /proc pass before it signals an instance\'s group, unless one began in the last 10 ms', async () => {
    // A child that left the group since the last pass is tied to the instance only by its parent,
    // which may exit on this very signal: the pass must come first (DescendantTracker.passWithin).
    const child = spawn('/bin/sleep', ['30'], { stdio: 'ignore', detached: true });
    const pid = child.pid as number;
    track(pid);
    const deps = realDeps({ runDir: dir, baseEnv: {}, onEvent: () => undefined });
    deps.instanceStarted?.(pid, runnerConfig());
    const order: string[] = [];
    const passWithin = vi.spyOn(DescendantTracker.prototype, 'passWithin').mockImplementation(function (this: DescendantTracker, maxAgeMs: number) {
      order.push(`pass within ${maxAgeMs} ms`);
    });
    const kill = vi.spyOn(process, 'kill').mockImplementation((target, signal) => {
      order.push(`kill ${String(target)} ${String(signal)}`);
      return true;
    });
    try {
      deps.signalInstance?.(pid, 'SIGTERM');
    } finally {
      kill.mockRestore();
      passWithin.mockRestore();
      deps.instanceGone?.(pid, runnerConfig());
    }
    expect(order[0]).toBe('pass within 10 ms');
    expect(order).toContain(`kill -${pid} SIGTERM`);
    process.kill(-pid, 'SIGKILL');
    await once(child, 'exit');
  });

  it('records a process /proc no longer shows with what the config says, and reports a PID file it cannot write', () => {
    const events: SupervisorEvent[] = [];
    const deps = realDeps({ runDir: dir, baseEnv: {}, onEvent: (e) => events.push(e) });
    const gone = spawnSync('/bin/true').pid as number;
    const pidFile = join(dir, 'missing-dir', 'api.pid');
    deps.instanceStarted?.(gone, runnerConfig({ pidFile, command: ['node', 'server.js'], cwd: '/srv/api' }));
    expect(readRecord(dir, 'api')).toMatchObject({ pid: gone, pgid: gone, startTime: '', bootId: '', cmdline: ['node', 'server.js'], cwd: '/srv/api' });
    expect(events).toEqual([
      { type: 'record-error', file: 'pid-file', path: pidFile, message: expect.stringMatching(new RegExp(`^cannot write the PID file ${pidFile}: .*ENOENT`)) as unknown },
      { type: 'record-written', recordPath: join(dir, 'api.json'), pidFile: null },
    ]);
  });

  it('probes liveness and readiness with their own settings', async () => {
    const server = createServer((socket) => socket.destroy());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const open = (server.address() as AddressInfo).port;
    const closed = await freePort();
    try {
      const deps = realDeps({ runDir: dir, baseEnv: {}, onEvent: () => undefined });
      const spec = { type: 'tcp' as const, path: '/', log: null, interval: 100, timeout: 1000, failureThreshold: 3, successThreshold: 1 };
      // The startup probe would GET /health over HTTP; these connect over TCP only.
      const config = (port: number): ReturnType<typeof runnerConfig> => runnerConfig({ port, health: { ...runnerConfig().health, liveness: spec, readiness: spec } });
      const signal = new AbortController().signal;
      expect(await deps.probe('liveness', config(open), signal)).toMatchObject({ ok: true });
      expect(await deps.probe('readiness', config(open), signal)).toMatchObject({ ok: true });
      expect(await deps.probe('readiness', config(closed), signal)).toMatchObject({ ok: false, detail: expect.stringContaining('connection refused') as unknown });
      expect(await deps.probe('startup', config(open), signal)).toMatchObject({ ok: false });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
