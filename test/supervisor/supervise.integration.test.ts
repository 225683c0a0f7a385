/**
 * The foreground supervisor against real processes (test/fixtures), on 127.0.0.1 and ephemeral
 * ports. Each test asserts that every process it started is gone at the end.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readProcStat } from '../../src/process/proc-read.js';
import { assertAllGone, fixture, trackedPids, waitFor } from '../helpers/processes.js';
import { finishSupervisor, freePort, httpGet, superviseInProcess, type InProcessSupervisor } from '../helpers/supervise.js';

const node = process.execPath;
let current: InProcessSupervisor | null = null;

function supervise(
  argv: string[] | ((tmp: string) => string[]),
  env: Record<string, string | undefined> = {},
  setup?: (tmp: string) => void,
): InProcessSupervisor {
  current = superviseInProcess(argv, { NAIJA_SUP_HEALTH_INTERVAL: '25ms', ...env }, setup);
  return current;
}


afterEach(async () => {
  const sup = current;
  current = null;
  await finishSupervisor(sup);
});

describe('naija-sup start (foreground, real processes)', () => {
  it('gets ready, restarts a kill -9ed instance with a new pid, and stops cleanly on SIGINT with status 0', async () => {
    const port = await freePort();
    const sup = supervise(['--port', String(port), '--', node, fixture('healthy-server.mjs')]);
    await sup.waitFor(/is ready in \d+ ms/);
    const first = JSON.parse((await httpGet(port, '/health')).body) as { pid: number };
    expect(first.pid).toBe(sup.pids[0]);
    process.kill(first.pid, 'SIGKILL');
    await sup.waitFor(/killed by SIGKILL/);
    await waitFor(async () => {
      const r = await httpGet(port, '/health');
      return r.status === 200 && (JSON.parse(r.body) as { pid: number }).pid !== first.pid;
    }, { timeout: 10_000, message: 'no 200 from a new pid after kill -9' });
    expect(sup.pids.length).toBe(2);
    sup.signal('SIGINT');
    await expect(sup.done).resolves.toBe(0);
    expect(sup.stderr()).toMatch(/stopped after/);
    await assertAllGone(sup.pids);
  });

  it('streams the child output with a [name] prefix, and without it under --raw', async () => {
    const port = await freePort();
    const sup = supervise(['--port', String(port), '--', node, fixture('healthy-server.mjs')], { NAIJA_SUP_NAME: 'api' });
    await sup.waitFor(/is ready/);
    expect(sup.stdout()).toMatch(/^\[api\] READY port=\d+ pid=\d+$/m);
    sup.signal('SIGTERM');
    await expect(sup.done).resolves.toBe(0);

    const port2 = await freePort();
    const raw = superviseInProcess(['--raw', '--port', String(port2), '--', node, fixture('healthy-server.mjs')], { NAIJA_SUP_HEALTH_INTERVAL: '25ms' });
    try {
      await raw.waitFor(/is ready/);
      expect(raw.stdout()).toMatch(/^READY port=\d+ pid=\d+$/m);
      raw.signal('SIGTERM');
      await expect(raw.done).resolves.toBe(0);
      await assertAllGone(raw.pids);
    } finally {
      raw.cleanup();
    }
  });

  it('with restart.maxRestarts set, a crash loop reaches fatal: exit 1, the reason, the last exit and the stderr tail', async () => {
    const port = await freePort();
    const sup = supervise(['--port', String(port), '--', node, fixture('crash-after.mjs')], {
      CRASH_AFTER_MS: '50',
      // Ready on its READY line, so every crash comes after a ready (an HTTP probe could miss the 50 ms).
      NAIJA_SUP_HEALTH_TYPE: 'log',
      NAIJA_SUP_HEALTH_LOG: '^READY',
      NAIJA_SUP_RESTART_INITIAL_DELAY: '20ms',
      NAIJA_SUP_RESTART_MAX_RESTARTS: '3',
    });
    await expect(sup.done).resolves.toBe(1);
    const err = sup.stderr();
    expect(err).toMatch(/giving up: restarted 3 times within 60 s/);
    expect(err).toMatch(/last exit: exited with code 1 \[cause: exit-code\]/);
    expect(err).toMatch(/last \d+ lines of its stderr:/);
    expect(sup.pids.length).toBe(4);
  });

  it('a child that ignores SIGTERM is SIGKILLed after shutdown.timeout', async () => {
    const port = await freePort();
    const sup = supervise(['--port', String(port), '--', node, fixture('ignore-sigterm.mjs')], { GRACEFUL_TIMEOUT: '1' });
    await sup.waitFor(/is ready/);
    const t0 = Date.now();
    sup.signal('SIGTERM');
    await expect(sup.done).resolves.toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(sup.stderr()).toMatch(/did not exit within shutdown.timeout: sent SIGKILL/);
    expect(sup.stdout()).toMatch(/IGNORING SIGTERM/);
  });

  it('a second stop signal kills at once', async () => {
    const port = await freePort();
    const sup = supervise(['--port', String(port), '--', node, fixture('ignore-sigterm.mjs')], { GRACEFUL_TIMEOUT: '60' });
    await sup.waitFor(/is ready/);
    sup.signal('SIGINT');
    await sup.waitFor(/IGNORING SIGTERM/);
    sup.signal('SIGINT');
    await expect(sup.done).resolves.toBe(0);
    expect(sup.stderr()).toMatch(/second stop request: sent SIGKILL/);
  });

  it('waits in full for a slow graceful shutdown (2 s drain), without killing', async () => {
    const port = await freePort();
    const sup = supervise(['--port', String(port), '--', node, fixture('healthy-server.mjs')], { DRAIN_MS: '1500' });
    await sup.waitFor(/is ready/);
    const t0 = Date.now();
    sup.signal('SIGTERM');
    await expect(sup.done).resolves.toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
    expect(sup.stderr()).not.toMatch(/sent SIGKILL/);
    expect(sup.stderr()).toMatch(/stopped after/);
    expect(sup.stderr()).not.toMatch(/stopped \(killed\)/);
  });

  it('a server behind a shell (sh -c "node server") leaves nothing after stop', async () => {
    const port = await freePort();
    const sup = supervise(['--port', String(port), '--', 'sh', '-c', `"${node}" "${fixture('healthy-server.mjs')}"; echo done`]);
    await sup.waitFor(/is ready/);
    const serverPid = sup.pids[0]!;
    // The instance the supervisor spawned is the shell; the server is its child.
    const shellPid = readProcStat(serverPid)?.ppid ?? 0;
    const shell = readProcStat(shellPid);
    expect(shell).toMatchObject({ comm: 'sh', ppid: process.pid });
    expect(trackedPids.has(shellPid)).toBe(true);
    sup.signal('SIGTERM');
    await expect(sup.done).resolves.toBe(0);
    await assertAllGone([shellPid, serverPid]);
  });

  it('a server that forks a worker: the whole group is gone after stop', async () => {
    const port = await freePort();
    const sup = supervise(['--port', String(port), '--', node, fixture('forks-worker.mjs')]);
    await sup.waitFor(/is ready/);
    await sup.waitFor(/worker=\d+/);
    expect(sup.pids.length).toBeGreaterThanOrEqual(2);
    sup.signal('SIGTERM');
    await expect(sup.done).resolves.toBe(0);
    await assertAllGone(sup.pids);
  });

  it('a never-ready child fails with startup-timeout', async () => {
    const port = await freePort();
    const sup = supervise(['--port', String(port), '--', node, fixture('never-ready.mjs')], {
      NAIJA_SUP_HEALTH_STARTUP_TIMEOUT: '600ms',
      NAIJA_SUP_RESTART_POLICY: 'never',
    });
    await expect(sup.done).resolves.toBe(1);
    expect(sup.stderr()).toMatch(/not ready within 600 ms/);
    expect(sup.stderr()).toMatch(/startup-timeout/);
  });

  it('with the default restart policy, a never-ready child is tried 3 times and then fails saying it never got ready', async () => {
    const port = await freePort();
    const sup = supervise(['--port', String(port), '--', node, fixture('never-ready.mjs')], {
      NAIJA_SUP_HEALTH_STARTUP_TIMEOUT: '400ms',
    });
    await expect(sup.done).resolves.toBe(1);
    const err = sup.stderr();
    expect(err).toMatch(/giving up: never got ready in 3 attempts \(restart\.startRetries is 2\); the last one: /);
    expect(err).toMatch(/startup-timeout/);
    expect(err).not.toMatch(/giving up.*giving up/);
    // The waits in between say where the run of failures stands, not "null" for the unset limit.
    expect(err).toMatch(/restarting in \d+ ms \(failure 2 in a row\)/);
    expect(err).not.toMatch(/\bnull\b/);
    expect(sup.pids.length).toBe(3);
    await assertAllGone(sup.pids);
  });

  it('SIGHUP re-reads the config and restarts the instance with it; an invalid config keeps the old one', async () => {
    const port1 = await freePort();
    const port2 = await freePort();
    const write = (tmp: string, port: number | string) => writeFileSync(join(tmp, 'naija-sup.config.json'),
      JSON.stringify({ name: 'hup', command: [node, fixture('healthy-server.mjs')], port }));
    const sup = supervise([], {}, (tmp) => write(tmp, port1));
    await sup.waitFor(/is ready/);
    const first = sup.pids[0]!;
    write(sup.tmp, port2);
    sup.signal('SIGHUP');
    await waitFor(async () => (await httpGet(port2, '/health')).status === 200, { timeout: 10_000, message: 'not serving on the new port after SIGHUP' });
    expect((await httpGet(port1, '/health')).status).toBe(0);
    const second = (JSON.parse((await httpGet(port2, '/health')).body) as { pid: number }).pid;
    expect(second).not.toBe(first);

    write(sup.tmp, 'not-a-port');
    sup.signal('SIGHUP');
    await sup.waitFor(/new configuration is invalid/);
    expect(sup.stderr()).toMatch(/port/);
    const still = await httpGet(port2, '/health');
    expect(still.status).toBe(200);
    expect((JSON.parse(still.body) as { pid: number }).pid).toBe(second);
    sup.signal('SIGTERM');
    await expect(sup.done).resolves.toBe(0);
  });

  it('restart.policy "never" passes the child status through: code 3 → 3', async () => {
    const port = await freePort();
    const sup = supervise(['--port', String(port), '--', node, fixture('exit-with.mjs')], {
      NAIJA_SUP_RESTART_POLICY: 'never', EXIT_CODE: '3', EXIT_AFTER_MS: '50', NAIJA_SUP_HEALTH_TYPE: 'tcp',
    });
    await expect(sup.done).resolves.toBe(3);
  });

  it('restart.policy "never": killed by SIGTERM → 143', async () => {
    const port = await freePort();
    const sup = supervise(['--port', String(port), '--', node, fixture('exit-with.mjs')], {
      NAIJA_SUP_RESTART_POLICY: 'never', EXIT_SIGNAL: 'SIGTERM', EXIT_AFTER_MS: '50', NAIJA_SUP_HEALTH_TYPE: 'tcp',
    });
    await expect(sup.done).resolves.toBe(143);
  });

  it('writes the PID file and the instance record, and removes both on stop', async () => {
    const port = await freePort();
    const sup = supervise((tmp) => ['--port', String(port), '--pid-file', join(tmp, 'api.pid'), '--', node, fixture('healthy-server.mjs')], { NAIJA_SUP_NAME: 'recorded' });
    await sup.waitFor(/is ready/);
    const pid = sup.pids[0]!;
    const pidFile = join(sup.tmp, 'api.pid');
    const recordFile = join(sup.runDir, 'recorded.json');
    expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(pid));
    const record = JSON.parse(readFileSync(recordFile, 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({ version: 1, name: 'recorded', pid, pgid: pid, port, supervisorPid: process.pid });
    expect(record['startTime']).toMatch(/^\d+$/);
    expect(record['bootId']).toMatch(/^[0-9a-f-]{36}$/);
    expect(record['cmdline']).toEqual([node, fixture('healthy-server.mjs')]);
    expect(typeof record['startedAt']).toBe('number');
    sup.signal('SIGTERM');
    await expect(sup.done).resolves.toBe(0);
    expect(existsSync(pidFile)).toBe(false);
    expect(existsSync(recordFile)).toBe(false);
  });

  it('supervises a Python server (/usr/bin/python3) like the Node one', async () => {
    const port = await freePort();
    const sup = supervise(['--port', String(port), '--', '/usr/bin/python3', fixture('python-server.py')]);
    await sup.waitFor(/is ready/);
    const pid = sup.pids[0]!;
    expect((await httpGet(port, '/health')).status).toBe(200);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => sup.pids.length === 2, { timeout: 10_000, message: 'the Python server was not restarted' });
    await sup.waitFor(/is ready in \d+ ms[^]*is ready in \d+ ms/);
    sup.signal('SIGTERM');
    await expect(sup.done).resolves.toBe(0);
    await assertAllGone(sup.pids);
  });

  it('a missing command exits 127 with the reason', async () => {
    const port = await freePort();
    const sup = supervise(['--port', String(port), '--', 'definitely-not-a-command-naija']);
    await expect(sup.done).resolves.toBe(127);
    expect(sup.stderr()).toMatch(/definitely-not-a-command-naija/);
  });

  it('a port held by another process: preflight refuses with E_PORT_IN_USE naming the holder, and spawns nothing', async () => {
    const holder = createServer((socket) => socket.resume());
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as AddressInfo).port;
    try {
      const sup = supervise(['--port', String(port), '--', node, fixture('healthy-server.mjs')]);
      await expect(sup.done).resolves.toBe(1);
      expect(sup.stderr()).toMatch(/E_PORT_IN_USE/);
      expect(sup.stderr()).toContain(`pid ${process.pid}`);
      expect(sup.stderr()).toMatch(/--kill-existing/);
      expect(sup.stderr()).not.toMatch(/started \S+ \(pid/);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('a bind conflict at the child itself (a race preflight cannot see) is classified port-in-use and not retried', async () => {
    // The supervisor's port is free, but the child binds another port that is held.
    const holder = createServer((socket) => socket.resume());
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const held = (holder.address() as AddressInfo).port;
    const port = await freePort();
    try {
      const sup = supervise(['--port', String(port), '--', 'sh', '-c', `PORT=${held} exec "${node}" "${fixture('eaddrinuse.mjs')}"`]);
      await expect(sup.done).resolves.toBe(1);
      expect(sup.stderr()).toMatch(/\[port-in-use\]/);
      expect(sup.stderr()).toMatch(/EADDRINUSE/);
      expect(sup.stderr().match(/started \S+ \(pid/g)?.length).toBe(1);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
