/**
 * Deployment-file details exports.test.ts does not reach: Docker durations over a minute, the
 * restart policy in each platform's words, railway's health path from a readiness probe, and a
 * systemd unit for a command whose arguments need quoting, without --workdir/--user.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { detectRuntime, dockerDuration, restartWords } from '../../src/export/common.js';
import type { ExportInput } from '../../src/export/index.js';
import { railwayObject } from '../../src/export/railway.js';
import { exportSystemd } from '../../src/export/systemd.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function input(config: Record<string, unknown>): Promise<ExportInput> {
  const dir = mkdtempSync(join(tmpdir(), 'naija-sup-export-edges-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'naija-sup.config.json'), JSON.stringify(config));
  const loaded = await loadConfig({ cwd: dir, env: {} });
  return { config: loaded.config, configFile: 'naija-sup.config.json', version: '0.1.0' };
}

describe('export details', () => {
  it('Docker durations: whole minutes, minutes and seconds, seconds rounded up', () => {
    expect([dockerDuration(120_000), dockerDuration(90_000), dockerDuration(1500)]).toEqual(['2m', '1m30s', '2s']);
  });

  it('restart policies in Docker and systemd words', () => {
    expect(restartWords('always')).toEqual({ docker: 'always', systemd: 'always' });
    expect(restartWords('never')).toEqual({ docker: 'no', systemd: 'no' });
    expect(restartWords('on-failure')).toEqual({ docker: 'on-failure', systemd: 'on-failure' });
  });

  it('a command given by path counts by its file name', () => {
    expect(detectRuntime(['/srv/venv/bin/gunicorn', 'app:app'])).toBe('python');
    expect(detectRuntime(['./dist/server.mjs'])).toBe('node');
  });

  it('railway: the readiness probe is the health check path; always and never restart policies', async () => {
    const always = railwayObject(await input({ command: 'node s.js', health: { readiness: { type: 'http', path: '/ready' } }, restart: { policy: 'always' } }));
    expect(always).toMatchObject({ deploy: { healthcheckPath: '/ready', restartPolicyType: 'ALWAYS' } });
    const never = railwayObject(await input({ command: 'node s.js', restart: { policy: 'never' } }));
    expect(never).toMatchObject({ deploy: { restartPolicyType: 'NEVER' } });
  });

  it('systemd: without --workdir/--user the unit uses the config cwd and the app name; an odd config path is quoted', async () => {
    const i = { ...(await input({ name: 'odd', command: ['node', 'server.js'] })), configFile: 'deploy/say "hi" 100%.json' };
    const text = exportSystemd(i);
    expect(text).toContain(`WorkingDirectory=${i.config.cwd}`);
    expect(text).toContain('User=odd');
    expect(text).not.toMatch(/--workdir|--user /);
    expect(text).toContain(' "deploy/say \\"hi\\" 100%%.json"');
  });
});
