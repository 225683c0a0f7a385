/**
 * `naija-sup import pm2` on three ecosystem files written from PM2's documented format
 * (test/fixtures/pm2/): a CommonJS .js in a "type": "module" folder (cluster mode, wait_ready,
 * exp_backoff_restart_delay), a JSON file for uvicorn (interpreter none, watch, cron_restart), and a
 * .cjs with two apps (one chosen with --app). Each written config loads as a valid naija-sup config;
 * what could not be carried over is listed with why; secret values are never written.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';
import { loadConfig } from '../../src/config/index.js';
import { importPm2App, pm2Command, pm2Duration } from '../../src/import/pm2.js';
import { FIXTURES_DIR } from '../helpers/processes.js';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

async function importPm2(args: string[]): Promise<{ status: number; config: Record<string, unknown> | null; stderr: string; stdout: string }> {
  let stdout = '';
  let stderr = '';
  const status = await run(['import', 'pm2', ...args], { stdout: (s) => { stdout += s; }, stderr: (s) => { stderr += s; }, env: {}, cwd: join(FIXTURES_DIR, 'pm2'), isTTY: false });
  return { status, stdout, stderr, config: status === 0 && stdout !== '' ? JSON.parse(stdout) as Record<string, unknown> : null };
}

/** The written config, loaded by naija-sup itself (cwd made relative so it exists). */
async function loads(config: Record<string, unknown>): Promise<Awaited<ReturnType<typeof loadConfig>>> {
  const dir = mkdtempSync(join(tmpdir(), 'naija-sup-pm2-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'naija-sup.config.json'), JSON.stringify({ ...config, cwd: '.' }));
  return loadConfig({ cwd: dir, env: {} });
}

describe('import pm2', () => {
  it('express-api.ecosystem.config.js (CommonJS in an ESM folder): carried over, and cluster mode, logs and env_production listed with why', async () => {
    const r = await importPm2(['express-api.ecosystem.config.js']);
    expect(r.status).toBe(0);
    expect(r.config).toEqual({
      $schema: './node_modules/naija-sup/naija-sup.schema.json',
      name: 'express-api',
      command: ['node', '--enable-source-maps', './src/server.js'],
      cwd: '/srv/express-api',
      port: 3000,
      env: { NODE_ENV: 'development' },
      health: { startupTimeout: '8s' },
      restart: { maxRestarts: 10, minUptime: '10s', initialDelay: '100ms', factor: 1.5, maxDelay: '15s' },
      shutdown: { timeout: '5s' },
    });
    expect(r.stdout).not.toContain('dev-secret-not-for-prod');
    for (const key of ['instances', 'exec_mode', 'max_memory_restart', 'env_production', 'out_file', 'error_file', 'merge_logs', 'env.JWT_SECRET']) {
      expect(r.stderr).toMatch(new RegExp(`^naija-sup:   ${key.replace('.', '\\.')}: \\S`, 'm'));
    }
    expect(r.stderr).toMatch(/instances: naija-sup supervises one server process/);
    expect(r.stderr).toMatch(/wait_ready: .*set health\.path/);
    expect((await loads(r.config as Record<string, unknown>)).config.restart.maxRestarts).toBe(10);
  });

  it('fastapi.ecosystem.json: interpreter none runs the script as a command; watch and cron_restart listed with why', async () => {
    const r = await importPm2(['fastapi.ecosystem.json']);
    expect(r.status).toBe(0);
    expect(r.config).toMatchObject({
      name: 'fastapi-app',
      command: ['uvicorn', 'main:app', '--host', '0.0.0.0', '--port', '8000', '--workers', '1'],
      env: { PYTHONUNBUFFERED: '1' },
      restart: { maxRestarts: 5, initialDelay: '3s', factor: 1 },
      shutdown: { timeout: '10s' },
    });
    expect(r.stdout).not.toContain('s3cret');
    expect(r.stderr).toMatch(/watch: naija-sup does not restart on file changes/);
    expect(r.stderr).toMatch(/cron_restart: no scheduled restarts: run `naija-sup restart/);
    expect(r.stderr).toMatch(/ignore_watch: goes with watch/);
    const loaded = await loads(r.config as Record<string, unknown>);
    expect(loaded.config.restart.initialDelay).toBe(3000);
  });

  it('monorepo.ecosystem.config.cjs: two apps need --app; each imports on its own', async () => {
    const both = await importPm2(['monorepo.ecosystem.config.cjs']);
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/has 2 apps \(api, worker\)/);
    expect(both.stderr).toMatch(/--app api/);

    const api = await importPm2(['monorepo.ecosystem.config.cjs', '--app', 'api']);
    expect(api.config).toMatchObject({ name: 'api', command: ['npm', 'run', 'start:prod'], port: 4000, env: { LOG_LEVEL: 'info' }, health: { startupTimeout: '15s' }, shutdown: { timeout: '20s' } });
    expect(api.stderr).toMatch(/shutdown_with_message: naija-sup stops with a signal/);
    await loads(api.config as Record<string, unknown>);

    const worker = await importPm2(['monorepo.ecosystem.config.cjs', '--app', 'worker']);
    expect(worker.config).toMatchObject({ command: ['/usr/bin/node', '--max-old-space-size=512', './packages/worker/dist/index.js'], restart: { policy: 'never' } });
    // instances: 1 and exec_mode: fork are what naija-sup does anyway: not listed.
    expect(worker.stderr).not.toMatch(/instances|exec_mode/);
    expect(worker.stderr).toMatch(/cron_restart/);
  });

  it('-o writes the file; a missing file, an unknown app and another tool are clear errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'naija-sup-pm2-out-'));
    dirs.push(dir);
    const out = join(dir, 'naija-sup.config.json');
    const r = await importPm2(['fastapi.ecosystem.json', '-o', out]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ name: 'fastapi-app' });
    expect((await importPm2(['nope.config.js'])).stderr).toMatch(/nope\.config\.js does not exist/);
    expect((await importPm2(['monorepo.ecosystem.config.cjs', '--app', 'web'])).stderr).toMatch(/no app named "web".*\n.*api, worker/s);
    let err = '';
    const status = await run(['import', 'forever', 'x.json'], { stdout: () => undefined, stderr: (s) => { err += s; }, env: {}, cwd: dir, isTTY: false });
    expect(status).toBe(2);
    expect(err).toMatch(/cannot import from "forever"/);
  });

  it('durations and commands the way PM2 reads them', () => {
    expect(pm2Duration(1600)).toBe('1.6s');
    expect(pm2Duration('5000')).toBe('5s');
    expect(pm2Duration('1m')).toBe('1m');
    expect(pm2Duration('soon')).toBeNull();
    expect(pm2Command({ script: 'app.py' })).toEqual(['python3', 'app.py']);
    expect(pm2Command({ script: 'server.ts', args: ['--port', '1'] })).toEqual(['npx', 'tsx', 'server.ts', '--port', '1']);
    expect(pm2Command({ script: 'gunicorn', args: '-w 2 app:app' })).toEqual(['gunicorn', '-w', '2', 'app:app']);
  });

  it('restart and shutdown settings: durations that are not, delays, an unnamed app and keys with no equivalent', () => {
    const out = importPm2App({
      script: 'server.js',
      autorestart: false,
      max_restarts: 5,
      min_uptime: 'a while',
      exp_backoff_restart_delay: 100,
      restart_delay: 3000,
      kill_timeout: 8000,
      pmx: true,
    });
    expect(out.config).not.toHaveProperty('name');
    expect(out.config).toMatchObject({
      command: ['node', 'server.js'],
      restart: { policy: 'never', maxRestarts: 5, initialDelay: '100ms', factor: 1.5, maxDelay: '15s' },
      shutdown: { timeout: '8s' },
    });
    expect(out.notCarried).toEqual(
      expect.arrayContaining([
        'min_uptime: "a while" is not a duration (milliseconds, or "10s", "1m")',
        'restart_delay: exp_backoff_restart_delay takes precedence, as in PM2',
        'pmx: no naija-sup equivalent',
      ]),
    );
    expect(out.notes[0]).toMatch(/^max_restarts → restart\.maxRestarts: /);
    // A fixed delay stays fixed.
    expect(importPm2App({ script: 'server.js', restart_delay: '2s' }).config).toMatchObject({ restart: { initialDelay: '2s', factor: 1 } });
  });
});
