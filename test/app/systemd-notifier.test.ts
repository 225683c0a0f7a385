/**
 * The sd_notify messages for events a running supervisor goes through, sent by the python3 helper
 * to a real datagram socket (notify-socket.py): a reload's own stop is not STOPPING=1, a watchdog
 * meant for another pid is not pinged, a give-up is a STATUS line; and without any helper on PATH
 * the user is told that systemd will not hear READY=1.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemdNotifier } from '../../src/app/systemd-notify.js';
import { fixture, track, waitFor } from '../helpers/processes.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'naija-sup-notify-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('systemdNotifier', () => {
  it('without python3 or systemd-notify on PATH: says systemd will not hear READY=1, and sends nothing', () => {
    const warnings: Array<[string, string | undefined]> = [];
    const warn = (message: string, fix?: string): void => { warnings.push([message, fix]); };
    expect(systemdNotifier({ NOTIFY_SOCKET: join(dir, 'n.sock'), PATH: dir }, warn)).toBeNull();
    expect(systemdNotifier({ NOTIFY_SOCKET: join(dir, 'n.sock') }, warn)).toBeNull();
    expect(warnings).toEqual(Array(2).fill([
      'NOTIFY_SOCKET is set but neither python3 nor systemd-notify is on PATH: systemd will not hear READY=1',
      'install python3 (or systemd), or use Type=exec in the unit',
    ]));
    expect(systemdNotifier({ PATH: '/usr/bin' }, warn)).toBeNull(); // not under systemd at all
    expect(warnings).toHaveLength(2);
  });

  it('a reload\'s stop is no STOPPING=1, a watchdog for another pid gets no ping, a give-up is a status', async () => {
    const socketPath = join(dir, 'notify.sock');
    const receiver = spawn('/usr/bin/python3', [fixture('notify-socket.py'), socketPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    if (receiver.pid !== undefined) track(receiver.pid);
    let received = '';
    receiver.stdout.on('data', (d: Buffer) => { received += d.toString(); });
    const receiverExit = new Promise((resolve) => receiver.once('close', resolve));
    const messages = (): string[] => received.split('\n').filter((l) => l.startsWith('MSG ')).map((l) => l.slice(4));
    try {
      await waitFor(() => received.includes('BOUND'));
      const warnings: string[] = [];
      // Empty PATH entries are skipped; the watchdog is another process's (WATCHDOG_PID).
      const notifier = systemdNotifier(
        { NOTIFY_SOCKET: socketPath, PATH: `::${dir}:/usr/bin`, WATCHDOG_USEC: '5000000', WATCHDOG_PID: String(process.pid + 1), NAIJA_SUP_NOTIFY_HELPER: 'python3' },
        (m) => warnings.push(m),
      );
      expect(notifier?.helper).toBe('python3');
      notifier?.event({ type: 'ready', instance: 1, pid: 5, readyInMs: 10, url: 'http://127.0.0.1:8000' });
      notifier?.event({ type: 'reload-started', mode: 'direct', bluePid: 5 });
      notifier?.event({ type: 'stopping', instance: 1, signal: 'SIGTERM', timeoutMs: 1000, reason: 'requested' });
      notifier?.event({ type: 'reload-finished', outcome: 'restarted', durationMs: 5, pid: 6 });
      notifier?.event({ type: 'probe', instance: 2, probe: 'liveness', ok: true, detail: 'HTTP 200', latencyMs: 1, first: false });
      notifier?.event({ type: 'fatal', reason: 'too many restarts', exit: null, exitStatus: 1 });
      notifier?.event({ type: 'stopping', instance: 2, signal: 'SIGTERM', timeoutMs: 1000, reason: 'requested' });
      await notifier?.close();
      await waitFor(() => messages().length >= 3, { message: () => received });
      expect(messages()).toEqual([
        'READY=1|STATUS=ready: pid 5, http://127.0.0.1:8000',
        'STATUS=gave up: too many restarts',
        'STOPPING=1|STATUS=stopping',
      ]);
      expect(warnings).toEqual([]);
    } finally {
      receiver.kill('SIGTERM');
      await receiverExit;
    }
  });
});
