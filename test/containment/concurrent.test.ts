/**
 * Ten `naija-sup stop`s at once against one running supervisor all exit 0 and the app ends stopped
 * (before, 1–2 failed: one found the supervisor closing its socket — "holds the app but does not
 * answer" — or closing the connection before answering, and a second stop request meant SIGKILL;
 * later, under load, one whose queued connection the closing supervisor reset: "connect ECONNRESET",
 * E_FATAL — test/control/stop-closing.test.ts reproduces that one deterministically).
 * Ten `restart`s at once all exit 0 and leave one consistent, ready instance. The built CLI (`npm
 * run build` first); everything started is gone at the end.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../src/control/protocol.js';
import { cliApp, endCliApps, processesIn, type CliApp } from '../helpers/cli-app.js';
import { isRunning, track, waitFor } from '../helpers/processes.js';

afterEach(endCliApps);

async function startApp(): Promise<{ app: CliApp; status: StatusSnapshot }> {
  const app = await cliApp();
  const started = await app.cli(['start', '-d']);
  expect(started.status, started.stderr).toBe(0);
  for (const pid of processesIn(app.cwd)) track(pid);
  const status = JSON.parse((await app.cli(['status', '--json'])).stdout) as StatusSnapshot;
  return { app, status };
}

describe('concurrent commands', () => {
  it('ten stops at once: all exit 0, the stop is graceful, nothing is left', async () => {
    const { app, status } = await startApp();
    const results = await Promise.all(Array.from({ length: 10 }, () => app.cli(['stop'])));
    for (const r of results) expect(r.status, r.stdout + r.stderr).toBe(0);
    const stopped = results.filter((r) => r.stdout.includes(': stopped ('));
    expect(stopped.length).toBeGreaterThanOrEqual(1);
    // Ten requests are one stop, not a stop and a "second stop" (SIGKILL).
    for (const r of stopped) expect(r.stdout).toContain('gracefully');
    for (const r of results.filter((x) => !stopped.includes(x))) expect(r.stdout).toContain('not running');
    // The supervisor lets go of the name before its own exit: it ends on its own right after.
    await waitFor(() => !isRunning(status.supervisorPid), { timeout: 10_000, message: 'the supervisor did not end' });
    expect(isRunning(status.instancePid as number)).toBe(false);
    expect((await app.cli(['status'])).status).toBe(3);
  }, 60_000);

  it('ten restarts at once: all exit 0, one ready instance at the end, restarts queued (never ten)', async () => {
    const { app, status } = await startApp();
    const results = await Promise.all(Array.from({ length: 10 }, () => app.cli(['restart'])));
    for (const r of results) expect(r.status, r.stdout + r.stderr).toBe(0);
    // A restart queued behind the first may still be finishing: the state must settle on ready.
    const after = await waitFor(async () => {
      const snapshot = JSON.parse((await app.cli(['status', '--json'])).stdout) as StatusSnapshot;
      return snapshot.state === 'ready' ? snapshot : null;
    }, { timeout: 20_000, message: 'the app did not settle on ready after ten restarts' });
    expect(after.supervisorPid).toBe(status.supervisorPid);
    expect(after.instancePid).not.toBe(status.instancePid);
    expect(after.restarts).toBeGreaterThanOrEqual(1);
    expect(after.restarts).toBeLessThan(10);
    // Each caller got an instance started after it asked: "restarted (pid OLD → pid NEW, …)".
    for (const r of results) {
      const [, old, now] = /\(pid (\d+) → pid (\d+)/.exec(r.stdout) ?? [];
      expect(now, r.stdout).toBeDefined();
      expect(now).not.toBe(old);
    }
    // One supervisor, one instance: nothing of an interleaved restart lingers.
    for (const pid of processesIn(app.cwd)) track(pid);
    expect(processesIn(app.cwd).sort((a, b) => a - b)).toEqual([after.supervisorPid, after.instancePid as number].sort((a, b) => a - b));
    const stop = await app.cli(['stop']);
    expect(stop.status, stop.stderr).toBe(0);
  }, 120_000);
});
