/**
 * Issue 14, "a reload whose config validates but cannot spawn": an env value with a NUL byte, one
 * over the kernel's 128 KiB limit (E2BIG), a command that vanished. Each is a failed reload — the old
 * instance keeps serving and `reload` exits non-zero with the cause — in every mode; at first start
 * the same inputs are a config error or a clean spawn error, never a stack trace (exit 70).
 */
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../src/control/protocol.js';
import { cliApp, endCliApps, type CliApp } from '../helpers/cli-app.js';
import { fixture, track } from '../helpers/processes.js';
import { httpGet } from '../helpers/supervise.js';

afterEach(endCliApps);

const BIG = 'x'.repeat(200 * 1024);

async function running(a: CliApp): Promise<StatusSnapshot> {
  // By name: `status` in the folder would read the (broken) config to find it.
  const s = JSON.parse((await a.cli(['status', '--json', '--name', 'cli-app'])).stdout) as StatusSnapshot;
  track(s.supervisorPid);
  track(s.instancePid as number);
  return s;
}

function rewrite(a: CliApp, change: (config: Record<string, unknown>) => Record<string, unknown>): void {
  const rc = join(a.cwd, '.naija-suprc.json');
  writeFileSync(rc, JSON.stringify(change(JSON.parse(readFileSync(rc, 'utf8')) as Record<string, unknown>)));
}

describe.each(['direct', 'handoff', 'proxy'] as const)('%s mode: a reload that cannot spawn keeps the old instance', (mode) => {
  const config = { command: [process.execPath, fixture('reload/fd-server.mjs')], mode };

  it.each([
    ['an env value with a NUL byte', { NUL: 'a\u0000b' }, /E_CONFIG_INVALID|NUL byte/],
    ['an env value over 128 KiB (E2BIG)', { BIG }, /the environment variable BIG is 200 KiB; the kernel refuses one over 128 KiB \(E2BIG\)/],
  ])('%s', async (_what, env, expected) => {
    const a = await cliApp(config);
    expect((await a.cli(['start', '-d'])).status).toBe(0);
    const before = await running(a);
    rewrite(a, (c) => ({ ...c, env }));
    const reloaded = await a.cli(['reload']);
    expect(reloaded.status).not.toBe(0);
    expect(reloaded.stderr).toMatch(expected);
    const after = await running(a);
    expect(after).toMatchObject({ state: 'ready', supervisorPid: before.supervisorPid, instancePid: before.instancePid });
    expect((await httpGet(a.port, '/health')).status).toBe(200);
    expect((await a.cli(['stop', '--name', 'cli-app'])).status).toBe(0);
  }, 60_000);
});

describe('a command that vanished', () => {
  it('fails the reload, and the old instance keeps serving', async () => {
    const a = await cliApp();
    const copy = join(a.cwd, 'server.mjs');
    copyFileSync(fixture('healthy-server.mjs'), copy);
    rewrite(a, (c) => ({ ...c, command: [process.execPath, copy] }));
    expect((await a.cli(['start', '-d'])).status).toBe(0);
    const before = await running(a);
    rewrite(a, (c) => ({ ...c, command: [join(a.cwd, 'gone', 'server')] }));
    rmSync(copy);
    const reloaded = await a.cli(['reload']);
    expect(reloaded.status).not.toBe(0);
    expect(reloaded.stderr).toContain('does not exist or is not executable');
    expect((await running(a)).instancePid).toBe(before.instancePid);
    expect((await a.cli(['stop'])).status).toBe(0);
  }, 60_000);
});

describe('the same inputs at first start', () => {
  it('a NUL byte in env is a config error naming the key', async () => {
    const a = await cliApp({ env: { NUL: 'a\u0000b' } });
    const r = await a.cli(['start']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('env.NUL: expected a value without NUL bytes');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('an env value over 128 KiB is a clean spawn error, not a crash', async () => {
    const a = await cliApp({ env: { BIG } });
    const r = await a.cli(['start']);
    expect(r.status).toBe(1);
    // Off a terminal the supervisor's lines are JSON on stdout.
    const out = r.stdout + r.stderr;
    expect(out).toContain('its arguments and environment are too large for the kernel (E2BIG');
    expect(out).toContain('pass large data through a file');
    expect(out).not.toMatch(/E_INTERNAL|\n\s+at /);
  });
});
