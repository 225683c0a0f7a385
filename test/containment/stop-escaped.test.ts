/**
 * The built CLI against a server whose real listener left the process group with setsid
 * (test/fixtures/setsid-grandchild.mjs): `stop` ends both, the supervisor exits even while the
 * grandchild holds its pipes, `stop` names what it stopped, the port is free afterwards, and a crash
 * of the parent takes the grandchild with it. Run `npm run build` first. Every process started —
 * supervisor, parent, grandchild — is gone at the end (endCliApps).
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../src/control/protocol.js';
import { readProcStat } from '../../src/process/identity.js';
import { cliApp, endCliApps, processesIn, type CliApp } from '../helpers/cli-app.js';
import { fixture, isRunning, track, waitFor } from '../helpers/processes.js';

afterEach(endCliApps);

interface Escaping {
  app: CliApp;
  supervisor: number;
  parent: number;
  grandchild: number;
}

/** Starts the app in the background and finds its three processes (the grandchild by its session). */
async function startEscaping(env: Record<string, string>, extra: Record<string, unknown> = {}): Promise<Escaping> {
  const app = await cliApp({
    command: [process.execPath, fixture('setsid-grandchild.mjs')],
    health: { path: '/', interval: '25ms' },
    shutdown: { timeout: '1s' },
    env,
    ...extra,
  });
  const started = await app.cli(['start', '-d']);
  expect(started.status, started.stderr).toBe(0);
  const status = await waitFor(async () => {
    const result = await app.cli(['status', '--json']);
    const snapshot = JSON.parse(result.stdout) as StatusSnapshot;
    return (snapshot.processes?.length ?? 0) >= 2 ? snapshot : null;
  }, { timeout: 10_000, message: 'status never listed the grandchild' });
  for (const pid of processesIn(app.cwd)) track(pid);
  const parent = status.instancePid as number;
  const grandchild = (status.processes ?? []).find((p) => p.pid !== parent)?.pid as number;
  track(grandchild);
  // The fixture's promise: the grandchild is in a session (and group) of its own.
  expect(readProcStat(grandchild)?.sid).toBe(grandchild);
  return { app, supervisor: status.supervisorPid, parent, grandchild };
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

describe('stop with a setsid grandchild', () => {
  for (const stdio of ['inherit', 'ignore'] as const) {
    it(`stops a parent that ignores SIGTERM and its grandchild (stdio ${stdio}), reports both, frees the port`, async () => {
      const { app, supervisor, parent, grandchild } = await startEscaping({ PARENT_IGNORE_SIGTERM: '1', GRANDCHILD_STDIO: stdio });
      const stop = await app.cli(['stop']);
      expect(stop.status, stop.stdout + stop.stderr).toBe(0);
      expect(stop.stdout).toContain(`processes stopped: ${[parent, grandchild].sort((a, b) => a - b).join(', ')}`);
      expect(stop.stdout).toContain('killed after the grace period');
      expect(isRunning(grandchild)).toBe(false);
      expect(isRunning(parent)).toBe(false);
      await waitFor(() => !isRunning(supervisor), { timeout: 10_000, message: 'the supervisor did not end' });
      expect(await portIsFree(app.port)).toBe(true);
      const status = await app.cli(['status']);
      expect(status.status).toBe(3);
      // The next start gets the port.
      const again = await app.cli(['start', '-d']);
      expect(again.status, again.stderr).toBe(0);
      for (const pid of processesIn(app.cwd)) track(pid);
      const second = await app.cli(['stop']);
      expect(second.status, second.stderr).toBe(0);
    }, 60_000);
  }

  it('kills a grandchild that ignores SIGTERM after the grace period, with a parent that exits', async () => {
    const { app, parent, grandchild } = await startEscaping({ GRANDCHILD_IGNORE_SIGTERM: '1' });
    const stop = await app.cli(['stop']);
    expect(stop.status, stop.stdout + stop.stderr).toBe(0);
    expect(stop.stdout).toContain(String(grandchild));
    expect(isRunning(grandchild)).toBe(false);
    expect(isRunning(parent)).toBe(false);
    expect(await portIsFree(app.port)).toBe(true);
  }, 60_000);

  it('stop --force kills both at once', async () => {
    const { app, parent, grandchild, supervisor } = await startEscaping({ PARENT_IGNORE_SIGTERM: '1', GRANDCHILD_IGNORE_SIGTERM: '1' });
    const stop = await app.cli(['stop', '--force']);
    expect(stop.status, stop.stdout + stop.stderr).toBe(0);
    expect(stop.stdout).toContain(`processes stopped: ${[parent, grandchild].sort((a, b) => a - b).join(', ')}`);
    for (const pid of [parent, grandchild]) expect(isRunning(pid)).toBe(false);
    await waitFor(() => !isRunning(supervisor), { timeout: 10_000, message: 'the supervisor did not end' });
  }, 60_000);

  it('a crash of the parent takes the escaped grandchild with it (restart policy never: the supervisor ends)', async () => {
    const { parent, grandchild, supervisor } = await startEscaping({}, { restart: { policy: 'never' } });
    process.kill(parent, 'SIGKILL');
    await waitFor(() => !isRunning(grandchild), { timeout: 10_000, message: 'the grandchild outlived its crashed parent' });
    await waitFor(() => !isRunning(supervisor), { timeout: 10_000, message: 'the supervisor did not end' });
  }, 60_000);
});
