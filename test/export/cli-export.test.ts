/**
 * `naija-sup export` through the CLI entry (`run(argv, io)`): the monitoring files need no config
 * file, `-o` writes a file and says so, an unknown target / a missing config file / a config file
 * outside the app's folder are clear errors, and a value set in the environment is named as not
 * carried into the deployment file.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { run } from '../../src/cli/main.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempApp(config?: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'naija-sup-cli-export-'));
  dirs.push(dir);
  if (config !== undefined) writeFileSync(join(dir, 'naija-sup.config.json'), JSON.stringify(config));
  return dir;
}

async function exportCli(cwd: string, args: string[], env: Record<string, string> = {}): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await run(['export', ...args], {
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    env: { NO_COLOR: '1', ...env },
    cwd,
    isTTY: false,
  });
  return { status, stdout, stderr };
}

const APP = { name: 'api', command: 'node server.js', port: 3000, health: { path: '/healthz' } };

describe('naija-sup export', () => {
  it('prometheus-rules without a config file: rules on stdout for the default app', async () => {
    const r = await exportCli(tempApp(), ['prometheus-rules', '--job', 'api-status']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const rules = parse(r.stdout) as { groups: Array<{ rules: Array<{ expr: string }> }> };
    expect(rules.groups.length).toBeGreaterThan(0);
    expect(rules.groups.flatMap((g) => g.rules).some((rule) => rule.expr.includes('job="api-status"'))).toBe(true);
  });

  it('grafana -o FILE writes the dashboard and says so on stderr; -o - is stdout', async () => {
    const dir = tempApp(APP);
    const r = await exportCli(dir, ['grafana', '-o', 'dashboard.json']);
    expect(r).toMatchObject({ status: 0, stdout: '', stderr: 'naija-sup: wrote dashboard.json\n' });
    expect(JSON.parse(readFileSync(join(dir, 'dashboard.json'), 'utf8'))).toHaveProperty('panels');
    const toStdout = await exportCli(dir, ['grafana', '-o', '-']);
    expect(toStdout.stderr).toBe('');
    expect(JSON.parse(toStdout.stdout)).toHaveProperty('panels');
    expect(existsSync(join(dir, '-'))).toBe(false);
  });

  it('an unknown target lists the known ones, exit 2', async () => {
    const r = await exportCli(tempApp(APP), ['heroku']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown export target "heroku"');
    expect(r.stderr).toContain('dockerfile');
    expect(r.stderr).toContain('prometheus-rules, grafana');
  });

  it('a deployment file needs a config file for the deployed naija-sup to read, even when the environment names a command', async () => {
    const dir = tempApp();
    const r = await exportCli(dir, ['dockerfile'], { NAIJA_SUP_COMMAND: 'node server.js' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`no config file in ${dir}: the deployed naija-sup needs one to read`);
    expect(r.stderr).toContain('write naija-sup.config.json');
  });

  it("a config file outside the app's folder cannot be copied with it", async () => {
    const dir = tempApp({ ...APP, cwd: './app' });
    mkdirSync(join(dir, 'app'));
    const r = await exportCli(dir, ['systemd']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`the config file ${join(dir, 'naija-sup.config.json')} is outside the app's folder (${join(dir, 'app')})`);
  });

  it('a setting from the environment is named as not carried into the file; PORT is', async () => {
    const r = await exportCli(tempApp(APP), ['railway'], { BCRYPT_FALLBACK: 'true', PORT: '4000' });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('naija-sup: not carried into the railway file (set them in naija-sup.config.json instead): bcrypt.fallback (from $BCRYPT_FALLBACK)\n');
    expect(JSON.parse(r.stdout)).toMatchObject({ deploy: { healthcheckPath: '/healthz' } });
  });
});
