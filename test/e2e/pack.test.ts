/**
 * End to end: the package as npm would ship it. `npm pack` the built package, install the tarball
 * into an empty folder, and run the installed `naija-sup` binary from there.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let dir = '';
let tarball = '';

function sh(cmd: string, args: string[], cwd: string): { status: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000, env: { ...process.env, NO_COLOR: '1' } });
    return { status: 0, stdout, stderr: '' };
  } catch (error) {
    const e = error as { status: number; stdout: string; stderr: string };
    return { status: e.status, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'naija-sup-e2e-'));
  // dist/ is built by `npm test` before vitest runs; skip `prepare` so packing does not rebuild.
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' })) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const first = packed[0];
  if (!first) throw new Error('npm pack printed nothing');
  tarball = join(dir, first.filename);
  const app = join(dir, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'e2e-app', version: '1.0.0', private: true }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', tarball], { cwd: app, stdio: 'ignore', timeout: 180_000 });
}, 240_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('ships only what runs and its docs: bin, dist, the schema, docs/, README and LICENSE', () => {
    const list = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').map((f) => f.replace(/^package\//, ''));
    expect(list).toEqual(expect.arrayContaining(['package.json', 'bin/naija-sup.js', 'dist/cli/main.js', 'dist/index.js', 'naija-sup.schema.json', 'README.md', 'LICENSE', 'docs/troubleshooting.md', 'docs/runbook.md']));
    const stray = list.filter((f) => !/^(package\.json|README\.md|LICENSE|naija-sup\.schema\.json|bin\/|dist\/|docs\/[\w-]+\.md$)/.test(f));
    expect(stray).toEqual([]);
    expect(list.some((f) => f.endsWith('.map'))).toBe(false);
  });

  it('npx naija-sup --help lists the commands', () => {
    const r = sh('npx', ['--no-install', 'naija-sup', '--help'], join(dir, 'app'));
    expect(r.status).toBe(0);
    for (const command of ['start', 'stop', 'status', 'doctor', 'config']) expect(r.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
  });

  it('npx naija-sup config --json resolves a config file found in the folder', () => {
    const app = join(dir, 'app');
    writeFileSync(join(app, '.naija-suprc.json'), JSON.stringify({ command: 'node server.js', port: 9123, env: { API_TOKEN: 'hunter2' } }));
    const r = sh('npx', ['--no-install', 'naija-sup', 'config', '--json'], app);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { config: { port: number; command: string[]; env: Record<string, string> } };
    expect(out.config.port).toBe(9123);
    expect(out.config.command).toEqual(['node', 'server.js']);
    expect(out.config.env['API_TOKEN']).not.toBe('hunter2');
  });

  it('an error points at the installed troubleshooting page, and the anchor is there', () => {
    const app = join(dir, 'app');
    const r = sh('npx', ['--no-install', 'naija-sup', 'start', '--config', 'missing.json'], app);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('(E_CONFIG_NOT_FOUND)');
    expect(r.stderr).toMatch(/^ {2}docs: node_modules\/naija-sup\/docs\/troubleshooting\.md#e_config_not_found$/m);
    expect(readFileSync(join(app, 'node_modules/naija-sup/docs/troubleshooting.md'), 'utf8')).toMatch(/^### E_CONFIG_NOT_FOUND$/m);
  });

  it('an unknown command exits 2 with usage', () => {
    const r = sh('npx', ['--no-install', 'naija-sup', 'frobnicate'], join(dir, 'app'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown command/);
  });

  it("exports naija-sup/node: serve() resolves from an installed package and listens", () => {
    const app = join(dir, 'app');
    // An ESM file of the installed app's own, resolved through the package's "exports".
    writeFileSync(
      join(app, 'serve-check.mjs'),
      [
        "import http from 'node:http';",
        "import { serve, drainOnSignal, resolveListenTarget } from 'naija-sup/node';",
        "if (typeof drainOnSignal !== 'function' || typeof resolveListenTarget !== 'function') throw new Error('missing exports');",
        "const server = http.createServer((req, res) => res.end('ok'));",
        "const { address, fd, drain } = await serve(server, { port: 0, host: '127.0.0.1', log: false });",
        "console.log(JSON.stringify({ port: address.port, fd }));",
        'drain.dispose();',
        'server.close();',
      ].join('\n'),
    );
    const r = sh(process.execPath, ['serve-check.mjs'], app);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { port: number; fd: number | null };
    expect(out.port).toBeGreaterThan(0);
    expect(out.fd).toBeNull();
    const list = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' });
    expect(list).toContain('package/dist/node/index.d.ts');
  });

  it('is installed with its runtime dependencies only', () => {
    const names = readdirSync(join(dir, 'app', 'node_modules'));
    expect(names).toEqual(expect.arrayContaining(['naija-sup', 'commander', 'cosmiconfig']));
    expect(names).not.toContain('vitest');
  });
});
