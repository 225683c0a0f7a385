/**
 * The CLI around `naija-sup config`, through run(argv, io) with a fake io: no process is spawned.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../src/cli/main.js';
import type { CliIO } from '../src/cli/context.js';
import { renderJsonSchema } from '../src/config/json-schema.js';

interface FakeIO extends CliIO {
  out: () => string;
  err: () => string;
}

let dir: string;

function fakeIO(env: NodeJS.ProcessEnv = {}): FakeIO {
  let out = '';
  let err = '';
  return {
    stdout: (text) => { out += text; },
    stderr: (text) => { err += text; },
    env,
    cwd: dir,
    isTTY: false,
    out: () => out,
    err: () => err,
  };
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'naija-sup-cli-config-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const CONFIG = {
  name: 'orders',
  command: 'node server.js --workers 2',
  port: 9001,
  env: { NODE_ENV: 'production', API_TOKEN: 'tok-very-secret', DB_PASSWORD: 'hunter2' },
  health: { path: '/healthz', timeout: '5s' },
};

describe('naija-sup config', () => {
  it('--json prints {config, sources, file} with flags > env > file > defaults, and redacts secrets', async () => {
    const file = path.join(dir, '.naija-suprc.json');
    await writeFile(file, JSON.stringify(CONFIG));
    const io = fakeIO({ HOST: '0.0.0.0', GRACEFUL_TIMEOUT: '12' });
    const status = await run(['config', '--json', '-p', '9002'], io);
    expect(io.err()).toBe('');
    expect(status).toBe(0);
    const printed = JSON.parse(io.out()) as { config: Record<string, unknown>; sources: Record<string, unknown>; file: string };
    expect(printed.file).toBe(file);
    expect(printed.config).toMatchObject({
      name: 'orders',
      command: ['node', 'server.js', '--workers', '2'],
      port: 9002,
      host: '0.0.0.0',
      env: { NODE_ENV: 'production', API_TOKEN: '[redacted]', DB_PASSWORD: '[redacted]' },
      health: { path: '/healthz', timeout: 5000 },
      shutdown: { timeout: 12_000 },
    });
    expect(printed.sources).toMatchObject({
      name: { kind: 'file', file },
      port: { kind: 'flag', flag: '--port' },
      host: { kind: 'env', variable: 'HOST' },
      'shutdown.timeout': { kind: 'env', variable: 'GRACEFUL_TIMEOUT' },
      'restart.policy': { kind: 'default' },
    });
    expect(io.out()).not.toContain('tok-very-secret');
    expect(io.out()).not.toContain('hunter2');
  });

  it('prints aligned "key  value  (source)" lines, with secrets redacted', async () => {
    await writeFile(path.join(dir, '.naija-suprc.json'), JSON.stringify(CONFIG));
    const io = fakeIO({ NAIJA_SUP_RESTART_MAX_RESTARTS: '9' });
    expect(await run(['config', '--host', '10.1.2.3'], io)).toBe(0);
    const out = io.out();
    expect(out.split('\n')[0]).toBe('config file: .naija-suprc.json');
    expect(out).toMatch(/^name +orders +\(file \.naija-suprc\.json\)$/m);
    expect(out).toMatch(/^command +node server\.js --workers 2 +\(file \.naija-suprc\.json\)$/m);
    expect(out).toMatch(/^port +9001 +\(file \.naija-suprc\.json\)$/m);
    expect(out).toMatch(/^host +10\.1\.2\.3 +\(flag --host\)$/m);
    expect(out).toMatch(/^health\.timeout +5s +\(file \.naija-suprc\.json\)$/m);
    expect(out).toMatch(/^health\.interval +250ms +\(default\)$/m);
    expect(out).toMatch(/^health\.liveness +off +\(default\)$/m);
    expect(out).toMatch(/^restart\.maxRestarts +9 +\(env NAIJA_SUP_RESTART_MAX_RESTARTS\)$/m);
    expect(out).toMatch(/^env\.API_TOKEN +\[redacted\] +\(file \.naija-suprc\.json\)$/m);
    expect(out).toMatch(/^env\.NODE_ENV +production +\(file \.naija-suprc\.json\)$/m);
    expect(out).not.toContain('tok-very-secret');
    expect(out).not.toContain('hunter2');
    // Aligned: every source starts in the same column.
    const rows = out.split('\n').slice(2).filter((line) => line !== '');
    const columns = new Set(rows.map((line) => line.indexOf('(')));
    expect(columns.size).toBe(1);
  });

  it('prints the probe, dependency, status, log and mode keys, with health.startup read as the health keys', async () => {
    await writeFile(path.join(dir, 'naija-sup.config.yaml'), [
      'command: node server.js',
      'health:',
      '  startup: { type: tcp, startupTimeout: 1m }',
      '  readiness: true',
      'dependsOn:',
      '  - { name: db, tcp: "[::1]:5432" }',
      'logs: { maxSize: 512KB }',
      '',
    ].join('\n'));
    const io = fakeIO({ NAIJA_SUP_MODE: 'handoff', REDIS_RETRY_ATTEMPTS: '6' });
    expect(await run(['config'], io)).toBe(0);
    const out = io.out();
    expect(io.err()).toBe('');
    expect(out).toMatch(/^health\.type +tcp +\(file naija-sup\.config\.yaml\)$/m);
    expect(out).toMatch(/^health\.startupTimeout +1m +\(file naija-sup\.config\.yaml\)$/m);
    expect(out).toMatch(/^health\.readiness\.type +tcp +\(file naija-sup\.config\.yaml\)$/m);
    expect(out).toMatch(/^health\.readiness\.successThreshold +1 +\(file naija-sup\.config\.yaml\)$/m);
    expect(out).not.toMatch(/^health\.startup[ .]/m);
    expect(out).toMatch(/^dependsOn +\[\{"name":"db","tcp":"\[::1\]:5432"\}\] +\(file naija-sup\.config\.yaml\)$/m);
    expect(out).toMatch(/^dependencies\.retries +6 +\(env REDIS_RETRY_ATTEMPTS\)$/m);
    expect(out).toMatch(/^dependencies\.timeout +10s +\(default\)$/m);
    expect(out).toMatch(/^logs\.maxSize +512KB +\(file naija-sup\.config\.yaml\)$/m);
    expect(out).toMatch(/^mode +handoff +\(env NAIJA_SUP_MODE\)$/m);
  });

  it('prints a configuration without a command instead of failing', async () => {
    const io = fakeIO();
    expect(await run(['config'], io)).toBe(0);
    expect(io.out()).toContain(`config file: none found in ${dir}`);
    expect(io.out()).toMatch(/^command +\(none — give one after --\) +\(default\)$/m);
    expect(io.out()).toMatch(/^port +8000 +\(default\)$/m);
  });

  it('lists every problem of a broken file and exits 2', async () => {
    await writeFile(path.join(dir, 'naija-sup.config.yaml'), 'port: 99999\nhealth:\n  timeout: fast\n  timout: 2s\nrestart:\n  policy: sometimes\nshutdown: 5\n');
    const io = fakeIO({ PORT: 'abc' });
    expect(await run(['config'], io)).toBe(2);
    expect(io.out()).toBe('');
    const err = io.err();
    expect(err).toContain('invalid configuration (naija-sup.config.yaml): 6 problems (E_CONFIG_INVALID)');
    for (const line of [
      '  - port: expected a port 1–65535, got 99999',
      '  - health.timeout: expected a duration like "5s", got "fast"',
      '  - health.timout: unknown key; did you mean "health.timeout"?',
      '  - restart.policy: expected one of "on-failure", "always", "never", got "sometimes"',
      '  - shutdown: expected a section (an object with keys like "signal", "timeout"), got 5',
      '  - PORT (environment): expected a port 1–65535, got "abc"',
    ]) {
      expect(err).toContain(line);
    }
    expect(err).toMatch(/^ {2}fix: /m);
  });

  it('names the file and line of a syntax error and exits 2', async () => {
    await writeFile(path.join(dir, '.naija-suprc.json'), '{\n  "port": 8000,\n}\n');
    const io = fakeIO();
    expect(await run(['config', '--json'], io)).toBe(2);
    expect(io.err()).toMatch(/^naija-sup: syntax error in \.naija-suprc\.json at line 3: .+ \(E_CONFIG_SYNTAX\)$/m);
  });

  it('exits 2 with E_CONFIG_NOT_FOUND when --config names a missing file', async () => {
    const io = fakeIO();
    expect(await run(['config', '--config', 'missing.yaml'], io)).toBe(2);
    expect(io.err()).toContain('config file missing.yaml does not exist (E_CONFIG_NOT_FOUND)');
    expect(io.err()).toContain('fix: check the path given to --config');
  });

  it('--json-schema prints the schema file\'s content', async () => {
    const io = fakeIO();
    expect(await run(['config', '--json-schema'], io)).toBe(0);
    expect(io.out()).toBe(renderJsonSchema());
    const file = await readFile(fileURLToPath(new URL('../naija-sup.schema.json', import.meta.url)), 'utf8');
    expect(io.out()).toBe(file);
  });

  it('rejects a bad --port as a usage error', async () => {
    const io = fakeIO();
    expect(await run(['config', '-p', 'abc'], io)).toBe(2);
    expect(io.err()).toContain('expected a port number 1–65535, got "abc"');
  });
});

describe('naija-sup (program)', () => {
  it('--help lists the commands', async () => {
    const io = fakeIO();
    expect(await run(['--help'], io)).toBe(0);
    for (const command of ['start', 'stop', 'status', 'doctor', 'config']) expect(io.out()).toMatch(new RegExp(`^ {2}${command}\\b`, 'm'));
  });

  it('--version prints the version from package.json', async () => {
    const pkg = JSON.parse(await readFile(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8')) as { version: string };
    const io = fakeIO();
    expect(await run(['--version'], io)).toBe(0);
    expect(io.out()).toBe(`${pkg.version}\n`);
  });

  it('exits 2 on an unknown command', async () => {
    const io = fakeIO();
    expect(await run(['frobnicate'], io)).toBe(2);
    expect(io.err()).toContain("unknown command 'frobnicate'");
  });

  it('exits 2 on an unknown flag', async () => {
    const io = fakeIO();
    expect(await run(['config', '--frobnicate'], io)).toBe(2);
    expect(io.err()).toContain("unknown option '--frobnicate'");
  });
});
