/**
 * `start -d` with the built binary (`npm run build` first): a failure is reported with its real
 * cause, and only once nothing it started runs any more; no hidden output file is left behind.
 *
 * The background supervisor opens its control socket before preflight, so one that fails preflight
 * (the port is held) closes the connection under `start -d`: its exit and its output are the only
 * place the cause (E_PORT_IN_USE and the holder) is written. Four apps start at once in each round
 * because the race between the two shows on a busy machine: before the fix, 7 of 8 concurrent
 * runs printed E_CLOSED or "its supervisor went away" without the cause.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../src/control/protocol.js';
import { BIN, cliApp, endCliApps, processesIn } from './helpers/cli-app.js';
import { fixture, isRunning, startFixture, track, waitFor } from './helpers/processes.js';

afterEach(endCliApps);

/** Files in the run dir whose name starts with a dot (a detached start's output before it is named). */
function hiddenFiles(runDir: string): string[] {
  try {
    return readdirSync(runDir).filter((f) => f.startsWith('.'));
  } catch {
    return [];
  }
}

describe('start -d reports why it failed, and leaves nothing behind', () => {
  it('against a held port: 20 runs (4 at a time) each name the holder and E_PORT_IN_USE, exit non-zero, leave no supervisor and no hidden file', async () => {
    const holder = await startFixture('hold-port.mjs', { PORT: '0' });
    const port = holder.port as number;
    const apps = await Promise.all([1, 2, 3, 4].map((i) => cliApp({ name: `held-${i}`, port })));
    try {
      for (let round = 0; round < 5; round += 1) {
        const results = await Promise.all(apps.map((a) => a.cli(['start', '-d'])));
        for (const [i, r] of results.entries()) {
          const a = apps[i] as (typeof apps)[number];
          const what = `round ${round}, app ${i}:\n${r.stderr}`;
          expect(r.status, what).not.toBe(0);
          expect(r.stderr, what).toContain('(E_PORT_IN_USE)');
          // The supervisor's own error, as a foreground start gives it: not wrapped in E_STARTUP_FAILED.
          expect(r.stderr, what).toMatch(new RegExp(`^naija-sup: port ${port} \\(127\\.0\\.0\\.1\\) is in use by pid ${holder.pid} `));
          expect(r.stderr, what).not.toContain('its output:');
          expect(r.stderr, what).not.toContain('"event":"error"');
          expect(r.stderr, what).toContain(`pid ${holder.pid}`);
          expect(r.stderr, what).toContain(fixture('hold-port.mjs'));
          expect(r.stderr, what).not.toContain('E_CLOSED');
          expect(r.stdout, what).toBe('');
          // Reported failed means gone already: no polling.
          expect(processesIn(a.cwd), what).toEqual([]);
          expect(hiddenFiles(a.runDir), what).toEqual([]);
        }
      }
    } finally {
      await holder.stop();
    }
  }, 120_000);

  it('a server that never gets ready under a policy that keeps restarting it: non-zero, and its supervisor and server are stopped', async () => {
    const a = await cliApp({
      command: [process.execPath, fixture('never-ready.mjs')],
      health: { path: '/health', interval: '25ms', startupTimeout: '1s' },
      // Far more start attempts than start -d waits for: the loop would go on without start -d.
      restart: { maxRestarts: 100, startRetries: 100 },
    });
    const r = await a.cli(['start', '-d']);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('"cli-app" is not ready after 11 s (E_STARTUP_FAILED)');
    expect(r.stderr).toContain('cause: startup-timeout');
    expect(r.stderr).toMatch(/naija-sup stopped its background supervisor \(pid \d+\) and the server/);
    expect(processesIn(a.cwd)).toEqual([]);
    expect(hiddenFiles(a.runDir)).toEqual([]);
    expect((await a.cli(['status'])).status).toBe(3);
  }, 60_000);

  it('Ctrl+C while it waits: exit 130, its supervisor and server are stopped', async () => {
    const a = await cliApp({ command: [process.execPath, fixture('never-ready.mjs')], health: { path: '/health', startupTimeout: '30s' } });
    const child = spawn(process.execPath, [BIN, 'start', '-d'], { cwd: a.cwd, env: a.env, stdio: ['ignore', 'pipe', 'pipe'] });
    track(child.pid as number);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // Interrupt once its server runs: the supervisor then has something to stop.
    const s = await waitFor(async () => {
      const r = await a.cli(['status', '--json']);
      const snapshot = r.status === 0 ? (JSON.parse(r.stdout) as StatusSnapshot) : null;
      return snapshot?.instancePid ? snapshot : null;
    }, { timeout: 20_000, message: 'the background supervisor never started its server' });
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(130);
    expect(stderr).toContain(`interrupted (SIGINT) before "cli-app" was ready`);
    expect(stderr).toContain(`naija-sup stopped its background supervisor (pid ${s.supervisorPid}) and the server`);
    expect(processesIn(a.cwd)).toEqual([]);
  }, 60_000);

  it('with --kill-existing: says which holder it stopped when it reports ready, and status keeps saying it', async () => {
    const holder = await startFixture('hold-port.mjs', { PORT: '0' });
    const a = await cliApp({ port: holder.port as number });
    const r = await a.cli(['start', '-d', '--kill-existing']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^cli-app is ready: pid \d+/);
    const said = new RegExp(`^warning: stopped process group ${holder.pid} \\(pids ${holder.pid}: .*hold-port\\.mjs\\): exited after SIGTERM in \\d+ ms, which held port ${holder.port}$`, 'm');
    expect(r.stderr).toMatch(said);
    await waitFor(() => !isRunning(holder.pid), { message: 'the holder still runs' });
    const status = await a.cli(['status']);
    expect(status.status, status.stderr).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^warning +\\d+ (?:ms|s) ago: stopped process group ${holder.pid} `, 'm'));
    const json = JSON.parse((await a.cli(['status', '--json'])).stdout) as StatusSnapshot;
    expect(json.warnings?.map((w) => w.message)).toEqual([expect.stringMatching(new RegExp(`^stopped process group ${holder.pid} `))]);
    expect((await a.cli(['stop'])).status).toBe(0);
  }, 60_000);
});
