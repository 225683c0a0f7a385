/**
 * bin/naija-sup.js run as a program: first a shell script that holds NODE_EXTRA_CA_CERTS for the
 * quick forms that run standalone and for `start` (Node parses that file at every start-up), then
 * Node on the same file. Its shell function must give the answers src/cli/quick-forms.ts gives, for every
 * argument list; the real `stop` must run without the variable and stop the app.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { quickForm, standalone } from '../../src/cli/quick-forms.js';
import type { StatusSnapshot } from '../../src/control/protocol.js';
import { assertStoppedIn, BIN, cliApp, endCliApps } from '../helpers/cli-app.js';
import { fixture, track, waitFor } from '../helpers/processes.js';

const CA = '/etc/example/ca.pem';
let fakeBin = '';

beforeAll(() => {
  // A `node` first on PATH that prints what the launcher handed it: the variable, the held
  // copy, and every argument (NUL-separated, so spaces and empty ones show); and fails when
  // the launcher's own shell variables reached it, or changed a user's `flag`, `cmd` or `named`.
  fakeBin = mkdtempSync(join(tmpdir(), 'naija-sup-launcher-'));
  writeFileSync(join(fakeBin, 'node'), [
    '#!/bin/sh',
    '[ -z "${naija_sup_flag+x}${naija_sup_named+x}" ] || exit 9',
    '[ "${flag-mine}:${cmd-mine}:${named-mine}" = mine:mine:mine ] || exit 8',
    'printf \'%s\\0\' "${NODE_EXTRA_CA_CERTS-unset}" "${NAIJA_SUP_EXTRA_CA_CERTS-unset}" "$@"',
    '',
  ].join('\n'));
  chmodSync(join(fakeBin, 'node'), 0o755);
});
afterAll(() => rmSync(fakeBin, { recursive: true, force: true }));
afterEach(endCliApps);

/** What the launcher execs for `args` with NODE_EXTRA_CA_CERTS set: [variable, held copy, ...node's arguments]. */
function launched(args: string[], env: Record<string, string> = { NODE_EXTRA_CA_CERTS: CA }): string[] {
  const out = execFileSync(BIN, args, { env: { PATH: `${fakeBin}:${process.env['PATH'] ?? ''}`, ...env }, encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
}

/** The answer: held for `start` and for a quick form that runs standalone (quick-forms.ts's answer). */
function held(args: string[]): boolean {
  const form = quickForm(args);
  return args[0] === 'start' || (form !== null && standalone(form));
}

/** A seeded generator (mulberry32), so a failing list can be run again. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const COMMANDS = ['status', 'stop', 'probe', 'start', '--version', '-v', '--name'];
const UNITS = [['--name', 'api'], ['--name', 'api'], ['--name', 'a b'], ['--name', ''], ['--name', '-x'], ['--name'], ['--name=a'], ['api'], ['-c', 'f.json'], ['--config', 'f.json'],
  ['--json'], ['--force'], ['--timeout', '5s'], ['--timeout'], ['-x'], ['-d'], ['stop'], ['constructor'], ['__proto__'], ['toString']];

describe('the launcher of bin/naija-sup.js', () => {
  it('holds NODE_EXTRA_CA_CERTS exactly for start and the quick forms that run standalone, and passes every argument on', () => {
    const lists: string[][] = [
      [], ['--version'], ['-v'], ['--version', 'x'], ['probe', '--name', 'api'], ['probe', '--name'], ['probe', '--name', 'a', 'b'], ['probe', '-c', 'f.json'],
      ['status'], ['status', '--name', 'api'], ['status', '--json', '--name', 'api'], ['status', '--name', 'api', '--force'], ['status', '--name', '-x'],
      ['status', '--name=api'], ['status', '-c', 'f.json'], ['status', '--name', 'api', '--timeout', '5s'], ['status', '--name', '', '--json'],
      ['stop', '--name', 'api', '--timeout', '5s', '--force'], ['stop', '--force'], ['stop', '--name', 'api', '--json'], ['stop', '--name', 'a', '--name', 'b'],
      ['start', '--name', 'api'], ['start', '-d'], ['doctor'],
    ];
    const next = random(19);
    const pick = <T>(from: T[]): T => from[Math.floor(next() * from.length)] as T;
    const generated = Array.from({ length: 400 }, () => [pick(COMMANDS), ...Array.from({ length: Math.floor(next() * 4) }, () => pick(UNITS)).flat()]);
    // The generated lists reach both answers, each often.
    expect(generated.filter(held).length).toBeGreaterThan(40);
    expect(generated.filter((args) => !held(args)).length).toBeGreaterThan(40);
    lists.push(...generated);
    for (const args of lists) {
      const expected = held(args) ? ['unset', CA, BIN, ...args] : [CA, 'unset', BIN, ...args];
      expect(launched(args), JSON.stringify(args)).toEqual(expected);
    }
  });

  it('leaves a user\'s variables of the names it could have used as they were', () => {
    expect(launched(['status', '--name', 'a b', '--json'], { NODE_EXTRA_CA_CERTS: CA, flag: 'mine', cmd: 'mine', named: 'mine' })).toEqual(['unset', CA, BIN, 'status', '--name', 'a b', '--json']);
  });

  it('leaves the environment alone when the variable is empty or not set, or another CA store is asked for', () => {
    expect(launched(['status', '--name', 'api'], { NODE_EXTRA_CA_CERTS: '' })).toEqual(['', 'unset', BIN, 'status', '--name', 'api']);
    expect(launched(['status', '--name', 'api'], {})).toEqual(['unset', 'unset', BIN, 'status', '--name', 'api']);
    const others: Record<string, string>[] = [{ NODE_OPTIONS: '--use-openssl-ca' }, { NODE_OPTIONS: '--max-old-space-size=100 --use-system-ca' }, { NODE_USE_SYSTEM_CA: '1' }];
    for (const other of others) {
      expect(launched(['start'], { ...other, NODE_EXTRA_CA_CERTS: CA }).slice(0, 2), JSON.stringify(other)).toEqual([CA, 'unset']);
    }
    expect(launched(['start'], { NODE_USE_SYSTEM_CA: '0', NODE_OPTIONS: '--max-old-space-size=100', NODE_EXTRA_CA_CERTS: CA }).slice(0, 2)).toEqual(['unset', CA]);
  });

  it('runs a foreground start without the variable, and its server with it', async () => {
    const a = await cliApp();
    const ca = `NODE_EXTRA_CA_CERTS=${fixture('tls/cert.pem')}`;
    const sup = spawn(BIN, ['start'], { cwd: a.cwd, env: { ...a.env, NODE_EXTRA_CA_CERTS: fixture('tls/cert.pem') }, stdio: 'ignore' });
    track(sup.pid as number);
    const exited = new Promise<number | null>((resolve) => sup.on('exit', resolve));
    const status = await waitFor(async () => {
      const r = await a.cli(['status', '--json']);
      const s = r.status === 0 ? JSON.parse(r.stdout) as StatusSnapshot : null;
      return s?.state === 'ready' ? s : null;
    }, { timeout: 30_000, message: 'the foreground start never got ready' });
    expect(status.supervisorPid).toBe(sup.pid);
    expect(readFileSync(`/proc/${status.supervisorPid}/environ`, 'utf8').split('\0')).not.toContain(ca);
    expect(readFileSync(`/proc/${status.instancePid as number}/environ`, 'utf8').split('\0')).toContain(ca);
    sup.kill('SIGTERM');
    expect(await exited).toBe(0);
    await assertStoppedIn(a.cwd);
  }, 60_000);

  it('runs a real start -d and stop without the variable; the server has it, and the app drains and stops', async () => {
    const a = await cliApp({ env: { DRAIN_MS: '1500' } });
    const env = { ...a.env, NODE_EXTRA_CA_CERTS: fixture('tls/cert.pem') };
    const up = spawnSync(BIN, ['start', '-d'], { cwd: a.cwd, env, encoding: 'utf8', timeout: 60_000 });
    expect(up.status, up.stderr).toBe(0);
    const status = JSON.parse((await a.cli(['status', '--json'])).stdout) as StatusSnapshot;
    expect(readFileSync(`/proc/${status.supervisorPid}/environ`, 'utf8').split('\0')).not.toContain(`NODE_EXTRA_CA_CERTS=${fixture('tls/cert.pem')}`);
    expect(readFileSync(`/proc/${status.instancePid as number}/environ`, 'utf8').split('\0')).toContain(`NODE_EXTRA_CA_CERTS=${fixture('tls/cert.pem')}`);
    const stop = spawn(BIN, ['stop', '--name', 'cli-app'], { cwd: a.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const pid = stop.pid as number;
    track(pid);
    let stderr = '';
    stop.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<number | null>((resolve) => stop.on('exit', resolve));
    // The shell (`/bin/sh BIN stop …`) execs node in the same process (`node BIN stop …`): read
    // the environment once the command line is node's.
    await waitFor(() => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(`node\0${BIN}\0`), { timeout: 10_000, interval: 1, message: 'the launcher never ran node' });
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    expect(environ).not.toContain(`NODE_EXTRA_CA_CERTS=${fixture('tls/cert.pem')}`);
    expect(environ).toContain(`NAIJA_SUP_EXTRA_CA_CERTS=${fixture('tls/cert.pem')}`);
    expect(await exited, stderr).toBe(0);
    await assertStoppedIn(a.cwd);
  }, 60_000);
});
