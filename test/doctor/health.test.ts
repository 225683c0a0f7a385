/**
 * health: only when a supervisor runs the app. 200 → ok; 404 → "the server is up but the health
 * path is wrong", naming the usual paths that do answer; refused → not listening. The supervisor is
 * either the real one (in this process) or this test process named as supervisor in the record.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { writeRecord } from '../../src/control/record.js';
import { realDeps } from '../../src/supervisor/real-deps.js';
import { Supervisor } from '../../src/supervisor/runner.js';
import type { SupervisorEvent } from '../../src/supervisor/events.js';
import { assertAllGone, fixture, killAllTracked, startFixture, track, waitFor } from '../helpers/processes.js';
import { doctorOne, freePort, recordFor, removeTemps, tempDir, thisProcessAsSupervisor, writeJson } from './helpers.js';

afterEach(() => {
  killAllTracked();
});
afterAll(() => {
  removeTemps();
});

function appWithHealth(port: number, path: string): { app: string; runDir: string; env: Record<string, string> } {
  const app = tempDir();
  const runDir = join(tempDir(), 'run');
  mkdirSync(runDir, { mode: 0o700 });
  writeJson(join(app, 'naija-sup.config.json'), {
    name: 'health-app',
    command: [process.execPath, fixture('healthy-server.mjs')],
    port,
    host: '127.0.0.1',
    health: { path, timeout: '2s' },
  });
  return { app, runDir, env: { NAIJA_SUP_RUN_DIR: runDir } };
}

describe('health', () => {
  it('skips when no supervisor runs the app', async () => {
    const { app, env } = appWithHealth(8000, '/health');
    expect(await doctorOne(app, 'health', env)).toMatchObject({ status: 'skip', summary: 'no supervisor is running health-app' });
  });

  it('a real supervisor with a healthy server: 200 → ok', async () => {
    const port = await freePort();
    const { app, runDir, env } = appWithHealth(port, '/health');
    const { config } = await loadConfig({ cwd: app, env: { PATH: process.env['PATH'] } });
    const events: SupervisorEvent[] = [];
    const supervisor = new Supervisor(config, realDeps({ runDir, baseEnv: { PATH: process.env['PATH'] }, onEvent: (event) => events.push(event) }));
    const done = supervisor.start();
    const ready = await waitFor(() => events.find((event) => event.type === 'ready'), { timeout: 15_000 });
    const pid = ready.type === 'ready' ? ready.pid : 0;
    track(pid);
    const result = await doctorOne(app, 'health', env);
    expect(result.status).toBe('ok');
    expect(result.summary).toMatch(new RegExp(`^GET http://127\\.0\\.0\\.1:${port}/health → 200 OK in \\d+ ms$`));
    supervisor.stop();
    await done;
    await assertAllGone([pid]);
  });

  it('404 → warn: the server is up but the health path is wrong, naming the paths that answer', async () => {
    const server = await startFixture('healthy-server.mjs');
    const port = server.port as number;
    const { app, runDir, env } = appWithHealth(port, '/api/v1/public/health');
    writeRecord(runDir, recordFor('health-app', server.pid, port, thisProcessAsSupervisor()));
    const result = await doctorOne(app, 'health', env);
    expect(result).toMatchObject({
      status: 'warn',
      summary: 'the server is up but the health path is wrong: /api/v1/public/health gives 404; /health answers',
      fix: 'Set "health": {"path": "/health"} in naija-sup.config.json.',
    });
    expect(result.details).toContain('GET /healthz: HTTP 404 for /healthz (the server is up but the health path is wrong)');
    await server.stop();
    await assertAllGone([server.pid]);
  });

  it('refused → fail: the supervisor runs but nothing listens', async () => {
    const port = await freePort();
    const { app, runDir, env } = appWithHealth(port, '/health');
    // The recorded instance runs but never listens.
    const silent = await startFixture('never-ready.mjs', {}, { readyPattern: /STARTED pid=\d+/ });
    writeRecord(runDir, recordFor('health-app', silent.pid, port, thisProcessAsSupervisor()));
    const result = await doctorOne(app, 'health', env);
    await silent.stop();
    await assertAllGone([silent.pid]);
    expect(result).toMatchObject({
      status: 'fail',
      summary: `nothing listens on port ${port} (127.0.0.1): the supervisor runs, but the server is not listening (starting, crashed, or bound elsewhere)`,
      fix: `Check the supervisor's output or \`naija-sup status\`; make sure the server binds PORT=${port} on HOST=127.0.0.1.`,
    });
  });
});
