/**
 * Type=notify without systemd: the test binds a unix datagram socket (notify-socket.py, Debian's
 * python3), points NOTIFY_SOCKET at it and runs `naija-sup start`. It records READY=1 only after
 * the startup probe passed (the health gate is closed until the test opens it), WATCHDOG=1 pings
 * while liveness holds (WATCHDOG_USEC set, as WatchdogSec= does), and STOPPING=1 on SIGTERM; the
 * server does not inherit NOTIFY_SOCKET. Once with each helper (python3, systemd-notify).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, cliApp, endCliApps } from '../helpers/cli-app.js';
import { fixture, track, waitFor } from '../helpers/processes.js';

afterEach(endCliApps);

function collect(child: ChildProcess): () => string {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  return () => out;
}

function messages(out: string): string[] {
  return out.split('\n').filter((l) => l.startsWith('MSG ')).map((l) => l.slice(4));
}

function events(out: string): Array<Record<string, unknown>> {
  return out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('sd_notify (Type=notify)', () => {
  for (const helper of ['python3', 'systemd-notify'] as const) {
    it(`${helper}: READY=1 after the startup probe passed, WATCHDOG=1 while liveness holds, STOPPING=1 on stop`, async () => {
      const app = await cliApp({
        name: 'notify-app',
        health: { path: '/health', interval: '25ms', liveness: { path: '/health', interval: '50ms' } },
      });
      const gate = join(app.cwd, 'gate');
      const socketPath = join(app.cwd, 'notify.sock');
      const receiver = spawn('/usr/bin/python3', [fixture('notify-socket.py'), socketPath], { cwd: app.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      if (receiver.pid !== undefined) track(receiver.pid);
      const received = collect(receiver);
      const receiverExit = new Promise((resolve) => receiver.once('close', resolve));
      await waitFor(() => received().includes('BOUND'), { message: () => received() });

      const sup = spawn(process.execPath, [BIN, 'start', '--log-format', 'json', '--verbose'], {
        cwd: app.cwd,
        // A PATH with /usr/bin first: Debian's python3 and systemd-notify, whatever the shell has.
        env: { ...app.env, PATH: `/usr/bin:${app.env['PATH'] ?? ''}`, NOTIFY_SOCKET: socketPath, WATCHDOG_USEC: '5000000', NAIJA_SUP_NOTIFY_HELPER: helper, HEALTH_GATE: gate },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      if (sup.pid !== undefined) track(sup.pid);
      const out = collect(sup);
      const supExit = new Promise<number | null>((resolve) => sup.once('close', (code) => resolve(code)));

      // The server answers 503 until the gate exists: several failed startup probes, no READY=1.
      await waitFor(() => events(out()).filter((e) => e['event'] === 'probe' && e['ok'] === false).length >= 1, { timeout: 15_000, message: () => out() });
      const spawned = events(out()).find((e) => e['event'] === 'spawned');
      const serverPid = Number(spawned?.['pid']);
      expect(readFileSync(`/proc/${serverPid}/environ`, 'utf8').split('\0').some((v) => v.startsWith('NOTIFY_SOCKET='))).toBe(false);
      expect(messages(received())).toEqual([]);

      writeFileSync(gate, '');
      await waitFor(() => messages(received()).some((m) => m.startsWith('READY=1')), { timeout: 15_000, message: () => `${received()}\n${out()}` });
      expect(events(out()).some((e) => e['event'] === 'ready')).toBe(true);
      expect(messages(received())[0]).toMatch(/^READY=1\|STATUS=ready: pid \d+/);
      await waitFor(() => messages(received()).filter((m) => m === 'WATCHDOG=1').length >= 2, { timeout: 15_000, message: () => received() });

      sup.kill('SIGTERM');
      expect(await supExit, out()).toBe(0);
      await waitFor(() => messages(received()).some((m) => m.startsWith('STOPPING=1')), { message: () => received() });
      const all = messages(received());
      expect(all.filter((m) => m.startsWith('READY=1'))).toHaveLength(1);
      // Nothing after STOPPING=1 but status lines: no WATCHDOG=1 from a stopping supervisor.
      expect(all.slice(all.findIndex((m) => m.startsWith('STOPPING=1')) + 1).filter((m) => m === 'WATCHDOG=1')).toEqual([]);
      receiver.kill('SIGTERM');
      await receiverExit;
    });
  }

  it('without WATCHDOG_USEC (no WatchdogSec=) there is no WATCHDOG=1, whatever liveness does', async () => {
    const app = await cliApp({ name: 'notify-nowd', health: { path: '/health', interval: '25ms', liveness: { path: '/health', interval: '25ms' } } });
    const socketPath = join(app.cwd, 'notify.sock');
    const receiver = spawn('/usr/bin/python3', [fixture('notify-socket.py'), socketPath], { cwd: app.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    if (receiver.pid !== undefined) track(receiver.pid);
    const received = collect(receiver);
    const receiverExit = new Promise((resolve) => receiver.once('close', resolve));
    await waitFor(() => received().includes('BOUND'));
    const sup = spawn(process.execPath, [BIN, 'start', '--log-format', 'json', '--verbose'], {
      cwd: app.cwd, env: { ...app.env, PATH: `/usr/bin:${app.env['PATH'] ?? ''}`, NOTIFY_SOCKET: socketPath }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (sup.pid !== undefined) track(sup.pid);
    const out = collect(sup);
    const supExit = new Promise<number | null>((resolve) => sup.once('close', (code) => resolve(code)));
    await waitFor(() => messages(received()).some((m) => m.startsWith('READY=1')), { timeout: 15_000, message: () => out() });
    // Liveness probes pass meanwhile; none of them pings.
    await waitFor(() => events(out()).filter((e) => e['event'] === 'probe' && e['probe'] === 'liveness' && e['ok'] === true).length >= 3, { timeout: 15_000, message: () => out() });
    sup.kill('SIGTERM');
    expect(await supExit).toBe(0);
    await waitFor(() => messages(received()).some((m) => m.startsWith('STOPPING=1')));
    expect(messages(received()).filter((m) => m === 'WATCHDOG=1')).toEqual([]);
    receiver.kill('SIGTERM');
    await receiverExit;
  });
});
