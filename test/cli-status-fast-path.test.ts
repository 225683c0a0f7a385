import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { CliIO } from '../src/cli/context.js';
import { handedStart } from '../src/cli/handed-start.js';
import { run, startFastPath } from '../src/cli/main.js';
import { quickForm, standalone, statusFastPath, stopFastPath } from '../src/cli/quick-forms.js';

// Counts loads of commander: the fast path is the one that never loads it.
const commander = vi.hoisted(() => ({ loads: 0 }));
vi.mock('commander', async (importOriginal) => {
  commander.loads += 1;
  return importOriginal();
});
// What `start` was called with, by either path (nothing is started).
const started = vi.hoisted(() => ({ calls: [] as unknown[] }));
vi.mock('../src/cli/commands/start.js', () => ({
  startCommand: (_io: unknown, opts: unknown, command: unknown) => {
    started.calls.push({ opts, command });
    return Promise.resolve(0);
  },
}));

const dir = mkdtempSync(join(tmpdir(), 'naija-sup-fast-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function io(): CliIO & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: (t) => { out += t; },
    stderr: (t) => { err += t; },
    env: { PATH: process.env['PATH'], NAIJA_SUP_RUN_DIR: join(dir, 'run') },
    cwd: dir,
    isTTY: false,
    out: () => out,
    err: () => err,
  };
}

describe('status fast path (no commander)', () => {
  it('takes only the plain forms', () => {
    expect(statusFastPath(['status'])).toEqual({});
    expect(statusFastPath(['status', '--json', '--name', 'api'])).toEqual({ json: true, name: 'api' });
    expect(statusFastPath(['status', '-c', 'x.json'])).toEqual({ config: 'x.json' });
    expect(statusFastPath(['status', '--name'])).toBeNull();
    expect(statusFastPath(['status', '--name', '--json'])).toBeNull();
    expect(statusFastPath(['status', '--verbose'])).toBeNull();
    expect(statusFastPath(['stop'])).toBeNull();
    // The flag tables' inherited names are not flags.
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) expect(statusFastPath(['status', '--name', 'api', name]), name).toBeNull();
  });

  it('answers like the full path, without loading commander: not running → exit 3', async () => {
    const fast = io();
    expect(await run(['status', '--name', 'nothing-here'], fast)).toBe(3);
    expect(fast.out()).toMatch(/not running/);
    expect(commander.loads).toBe(0);
    // `--name=x` is not a plain form: the same question through commander, same answer.
    const full = io();
    expect(await run(['status', '--name=nothing-here'], full)).toBe(3);
    expect(commander.loads).toBe(1);
    expect(full.out()).toBe(fast.out());
    expect(full.err()).toBe(fast.err());
  });

  it('an unknown flag falls back to commander: usage error, exit 2', async () => {
    const slow = io();
    expect(await run(['status', '--name', 'x', '--bogus'], slow)).toBe(2);
    expect(slow.err()).toMatch(/unknown option/);
  });
});

describe('quick forms: which commands skip commander, and which run from the CommonJS quick bundle', () => {
  it('recognises --version, probe --name, status and stop; nothing else', () => {
    expect(quickForm(['--version'])).toEqual({ command: 'version' });
    expect(quickForm(['-v'])).toEqual({ command: 'version' });
    expect(quickForm(['-v', '--version'])).toBeNull();
    expect(quickForm(['probe', '--name', 'api'])).toEqual({ command: 'probe', name: 'api' });
    expect(quickForm(['probe'])).toBeNull();
    expect(quickForm(['probe', '--name', 'api', '--json'])).toBeNull();
    expect(quickForm(['status', '--name', 'api'])).toEqual({ command: 'status', opts: { name: 'api' } });
    expect(quickForm(['stop', '--force'])).toEqual({ command: 'stop', opts: { force: true } });
    expect(quickForm(['start', '-d'])).toBeNull();
    expect(quickForm(['status', '--name=api'])).toBeNull();
    expect(quickForm([])).toBeNull();
  });

  it('only forms that name their app (or need no app) are standalone: no config file is read', () => {
    const standaloneOf = (argv: string[]): boolean | null => {
      const form = quickForm(argv);
      return form === null ? null : standalone(form);
    };
    expect(standaloneOf(['--version'])).toBe(true);
    expect(standaloneOf(['probe', '--name', 'api'])).toBe(true);
    expect(standaloneOf(['status', '--name', 'api', '--json'])).toBe(true);
    expect(standaloneOf(['stop', '--name', 'api', '--timeout', '5s'])).toBe(true);
    // -c names the config file; only --name names the app: these read the config, from the ESM bundle.
    expect(standaloneOf(['status'])).toBe(false);
    expect(standaloneOf(['status', '-c', 'x.json'])).toBe(false);
    expect(standaloneOf(['stop', '--force'])).toBe(false);
  });
});

describe('stop fast path and the detached supervisor\'s handed options (no commander)', () => {
  it('stop takes only the plain forms', () => {
    expect(stopFastPath(['stop', '--name', 'api', '--force'])).toEqual({ name: 'api', force: true });
    expect(stopFastPath(['stop', '--timeout', '5s', '-c', 'x.json'])).toEqual({ timeout: '5s', config: 'x.json' });
    expect(stopFastPath(['stop', '--timeout'])).toBeNull();
    expect(stopFastPath(['stop', '--bogus'])).toBeNull();
    expect(stopFastPath(['status'])).toBeNull();
  });

  it('stop of nothing running answers like the full path', async () => {
    const fast = io();
    expect(await run(['stop', '--name', 'nothing-here'], fast)).toBe(0);
    expect(fast.out()).toMatch(/not running/);
  });

  it('handed options count only for a detached `start` with well-formed JSON', () => {
    const env = { NAIJA_SUP_DETACHED: '1', NAIJA_SUP_START_OPTIONS: JSON.stringify({ opts: { port: 3000, detach: true }, command: ['node', 'x.js'] }) };
    expect(handedStart(['start', '--port', '3000'], env)).toEqual({ opts: { port: 3000, detach: false }, command: ['node', 'x.js'] });
    expect(handedStart(['stop'], env)).toBeNull();
    expect(handedStart(['start'], { NAIJA_SUP_START_OPTIONS: env.NAIJA_SUP_START_OPTIONS })).toBeNull();
    expect(handedStart(['start'], { ...env, NAIJA_SUP_START_OPTIONS: '{' })).toBeNull();
    expect(handedStart(['start'], { ...env, NAIJA_SUP_START_OPTIONS: JSON.stringify({ opts: [], command: [] }) })).toBeNull();
    expect(handedStart(['start'], { ...env, NAIJA_SUP_START_OPTIONS: JSON.stringify({ opts: {}, command: [1] }) })).toBeNull();
  });
});

describe('start fast path (no commander between `start` and the spawn)', () => {
  it('takes only the plain forms, with values commander would accept', () => {
    expect(startFastPath(['start'])).toEqual({ opts: {}, command: [] });
    expect(startFastPath(['start', '-d', '--port', '3000', '--', 'node', 's.js'])).toEqual({ opts: { detach: true, port: 3000 }, command: ['node', 's.js'] });
    expect(startFastPath(['start', '--mode', 'proxy', '--log-format', 'json', '--status-port', '9100'])).toEqual({ opts: { mode: 'proxy', logFormat: 'json', statusPort: 9100 }, command: [] });
    expect(startFastPath(['start', '--port', '0'])).toBeNull();
    expect(startFastPath(['start', '--port', '70000'])).toBeNull();
    expect(startFastPath(['start', '--port', 'abc'])).toBeNull();
    expect(startFastPath(['start', '--mode', 'sideways'])).toBeNull();
    expect(startFastPath(['start', '--config'])).toBeNull();
    expect(startFastPath(['start', '--config', '--port'])).toBeNull();
    expect(startFastPath(['start', '--port=3000'])).toBeNull();
    expect(startFastPath(['start', 'node', 's.js'])).toBeNull();
    expect(startFastPath(['start', '--help'])).toBeNull();
    expect(startFastPath(['stop'])).toBeNull();
  });

  it('hands `start` the same options and command as commander does', async () => {
    const cases: Array<[string[], string[]]> = [
      [['start', '--config', 'x.json', '-p', '3000', '-d', '--', 'node', 's.js'], ['start', '--config=x.json', '-p', '3000', '-d', '--', 'node', 's.js']],
      [['start', '-H', '::1', '--pid-file', 'p.pid', '--kill-existing', '--port-fallback', '--force', '--raw', '--verbose'], ['start', '--host=::1', '--pid-file', 'p.pid', '--kill-existing', '--port-fallback', '--force', '--raw', '--verbose']],
      [['start', '--status-port', '9100', '--log-format', 'json', '--mode', 'handoff', '--port', '08080'], ['start', '--status-port=9100', '--log-format', 'json', '--mode', 'handoff', '--port', '08080']],
    ];
    for (const [plain, full] of cases) {
      started.calls.length = 0;
      // Each takes its own path: the plain form the fast one, the `--flag=value` form commander's.
      expect(startFastPath(plain)).not.toBeNull();
      expect(startFastPath(full)).toBeNull();
      expect(await run(plain, io())).toBe(0);
      expect(await run(full, io())).toBe(0);
      expect(started.calls).toHaveLength(2);
      expect(started.calls[0], plain.join(' ')).toEqual(started.calls[1]);
    }
  });
});

describe('--version fast path', () => {
  it('prints what commander prints for --version and -v, exit 0', async () => {
    const fast = io();
    expect(await run(['--version'], fast)).toBe(0);
    expect(await run(['-v'], fast)).toBe(0);
    // `-v --version` is not the plain form: commander answers it, the same way.
    const full = io();
    expect(await run(['--version', '--version'], full)).toBe(0);
    expect(fast.out()).toMatch(/^\d+\.\d+\.\d+\n\d+\.\d+\.\d+\n$/);
    expect(full.out()).toBe(fast.out().split('\n')[0] + '\n');
  });
});
