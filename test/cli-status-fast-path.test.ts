import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { CliIO } from '../src/cli/context.js';
import { handedStart, run, statusFastPath, stopFastPath } from '../src/cli/main.js';

// Counts loads of commander: the fast path is the one that never loads it.
const commander = vi.hoisted(() => ({ loads: 0 }));
vi.mock('commander', async (importOriginal) => {
  commander.loads += 1;
  return importOriginal();
});

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
