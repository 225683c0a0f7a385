/**
 * `naija-sup import pm2` with ecosystem files beyond the fixtures: an ES module's default export, a
 * bare array or a single app object, files that are no ecosystem at all, a file that throws while
 * loading, unnamed apps, and `-o` with `--app` naming the app it wrote.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/main.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'naija-sup-cli-import-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

async function importPm2(cwd: string, args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await run(['import', 'pm2', ...args], {
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    env: { NO_COLOR: '1' },
    cwd,
    isTTY: false,
  });
  return { status, stdout, stderr };
}

const APP = { name: 'api', script: 'server.js', cwd: '.' };

describe('naija-sup import pm2: the ways an ecosystem file is written', () => {
  it('an ES module with a default export', async () => {
    const dir = folder({ 'ecosystem.config.mjs': `export default { apps: [${JSON.stringify(APP)}] };\n` });
    const r = await importPm2(dir, ['ecosystem.config.mjs']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'api' });
    expect(r.stderr).toBe('');
  });

  it('a JSON array of apps, and a single app object', async () => {
    const dir = folder({ 'apps.json': JSON.stringify([APP]), 'one.json': JSON.stringify(APP) });
    expect(JSON.parse((await importPm2(dir, ['apps.json'])).stdout)).toMatchObject({ name: 'api' });
    expect(JSON.parse((await importPm2(dir, ['one.json'])).stdout)).toMatchObject({ name: 'api' });
  });

  it.each([
    ['null', 'null'],
    ['no apps', '{ "apps": [] }'],
    ['an app that is not an object', '{ "apps": ["server.js"] }'],
    ['an object without script or apps', '{ "name": "api" }'],
  ])('%s: "has no PM2 apps", with the shape it needs', async (_label, text) => {
    const r = await importPm2(folder({ 'eco.json': text }), ['eco.json']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('eco.json has no PM2 apps');
    expect(r.stderr).toContain('an ecosystem file exports { apps: [{ name, script, … }] }');
  });

  it('a file that does not load says why, an Error or anything thrown', async () => {
    const dir = folder({ 'bad.json': '{ apps: ', 'throws.config.js': "throw 'no ecosystem here';\n" });
    const bad = await importPm2(dir, ['bad.json']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/bad\.json does not load: .*JSON/);
    expect(bad.stderr).toContain('fix bad.json so that `pm2 start bad.json` would accept it');
    expect((await importPm2(dir, ['throws.config.js'])).stderr).toContain('throws.config.js does not load: no ecosystem here');
  });

  it('two unnamed apps are numbered; --app picks one, and -o says which app it wrote', async () => {
    const dir = folder({ 'eco.json': JSON.stringify({ apps: [{ script: 'a.js' }, { name: 'web', script: 'web.js' }] }) });
    const both = await importPm2(dir, ['eco.json']);
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('eco.json has 2 apps (#1, web); a naija-sup config is one server');
    expect(both.stderr).toContain('naija-sup import pm2 eco.json --app #1 -o naija-sup.config.json');
    const web = await importPm2(dir, ['eco.json', '--app', 'web', '-o', 'web.config.json']);
    expect(web.status).toBe(0);
    expect(web.stderr.split('\n')[0]).toBe('naija-sup: wrote web.config.json from eco.json (app web)');
    expect(JSON.parse(readFileSync(join(dir, 'web.config.json'), 'utf8'))).toMatchObject({ name: 'web' });
  });
});
