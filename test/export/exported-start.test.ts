/**
 * The command line a deployment export writes is the one that runs naija-sup for days, so it must
 * start the resident supervisor as `start -d` does (src/process/resident-flags.ts): node's memory
 * flags on its command line, glibc malloc settings in its environment, and a server that sees
 * neither. Checked for real: the systemd unit's ExecStart= and Environment= lines, exported by
 * the built CLI, run as systemd would run them (the app's own naija-sup is a symlink to this
 * checkout, as `npm install` of a local folder makes it). Built binary (`npm run build` first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../src/control/protocol.js';
import { cliApp, endCliApps, processesIn, type CliApp } from '../helpers/cli-app.js';
import { track, waitFor } from '../helpers/processes.js';

afterEach(endCliApps);

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const MALLOC = ['MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_'];

/** /proc/PID/environ as an object. */
function environOf(pid: number): Record<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  return Object.fromEntries(entries.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
}

/** The unit's ExecStart= as argv and its Environment= lines as one object, in order (later wins, as in systemd). */
async function exportedUnit(a: CliApp): Promise<{ argv: string[]; env: Record<string, string> }> {
  const r = await a.cli(['export', 'systemd', '-c', 'naija-sup.config.json', '--workdir', a.cwd]);
  expect(r.status, r.stderr).toBe(0);
  const values = (key: string): string[] => r.stdout.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
  const [execStart] = values('ExecStart');
  // Plain words only (a temp folder needs no quoting), so splitting on spaces is systemd's reading.
  expect(execStart).toMatch(/^[^"'\\]+$/);
  const pairs = values('Environment').flatMap((line) => line.split(' ')).map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]);
  return { argv: (execStart as string).split(' '), env: Object.fromEntries(pairs) as Record<string, string> };
}

/** An app whose folder has the config file the export names and naija-sup as its dependency. */
async function deployedApp(): Promise<CliApp> {
  const a = await cliApp();
  copyFileSync(join(a.cwd, '.naija-suprc.json'), join(a.cwd, 'naija-sup.config.json'));
  mkdirSync(join(a.cwd, 'node_modules'));
  symlinkSync(REPO, join(a.cwd, 'node_modules', 'naija-sup'));
  return a;
}

/** Runs the unit's command line in its WorkingDirectory and waits until the server runs. */
async function startAsUnit(a: CliApp, env: Record<string, string>, argv: string[]): Promise<{ child: ChildProcess; status: StatusSnapshot; exited: Promise<number | null> }> {
  const [file, ...args] = argv as [string, ...string[]];
  let stderr = '';
  const child = spawn(file, args, { cwd: a.cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  if (child.pid !== undefined) track(child.pid);
  const status = await waitFor(async () => {
    const s = await a.cli(['status', '--json']);
    const snapshot = s.status === 0 ? JSON.parse(s.stdout) as StatusSnapshot : null;
    return snapshot?.state === 'ready' ? snapshot : null;
  }, { timeout: 30_000, message: () => `the exported command did not get the server ready; its stderr:\n${stderr}` });
  return { child, status, exited };
}

/** systemd's stop (KillMode=mixed: SIGTERM to naija-sup alone), then nothing left in the folder. */
async function stopAsUnit(a: CliApp, run: { child: ChildProcess; exited: Promise<number | null> }): Promise<void> {
  run.child.kill('SIGTERM');
  expect(await run.exited).toBe(0);
  expect(processesIn(a.cwd)).toEqual([]);
}

describe('the systemd unit\'s command line', () => {
  it('runs the supervisor with the resident memory flags and malloc settings; the server sees neither', async () => {
    const a = await deployedApp();
    const unit = await exportedUnit(a);
    expect(unit.argv.slice(0, 2)).toEqual(['/usr/bin/env', 'node']);
    // The unit's run dir (/run/<name>) is systemd's RuntimeDirectory=; the test's own stands in.
    const env = { ...a.env, ...unit.env, NAIJA_SUP_RUN_DIR: a.runDir } as Record<string, string>;
    const run = await startAsUnit(a, env, unit.argv);
    expect(run.status.supervisorPid).toBe(run.child.pid);
    const cmdline = readFileSync(`/proc/${run.status.supervisorPid}/cmdline`, 'utf8').split('\0');
    expect(cmdline).toEqual(expect.arrayContaining(['--max-semi-space-size=1', '--max-old-space-size=256', '--v8-pool-size=1', '--no-opt', '--no-sparkplug']));
    expect(environOf(run.status.supervisorPid)).toMatchObject({ MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '65536', MALLOC_TRIM_THRESHOLD_: '131072' });
    const serverEnv = environOf(run.status.instancePid as number);
    expect(serverEnv['PATH']).toBe(a.env['PATH']);
    expect(serverEnv['NODE_ENV']).toBe('production');
    expect(Object.keys(serverEnv).filter((k) => [...MALLOC, 'NAIJA_SUP_ADDED_ENV'].includes(k))).toEqual([]);
    await stopAsUnit(a, run);
  }, 60_000);

  it('a value the deployment gives itself (EnvironmentFile=, after Environment=) stays, for the server too', async () => {
    const a = await deployedApp();
    const unit = await exportedUnit(a);
    const env = { ...a.env, ...unit.env, NAIJA_SUP_RUN_DIR: a.runDir, MALLOC_ARENA_MAX: '4' } as Record<string, string>;
    const run = await startAsUnit(a, env, unit.argv);
    expect(environOf(run.status.supervisorPid)['MALLOC_ARENA_MAX']).toBe('4');
    const serverEnv = environOf(run.status.instancePid as number);
    expect(serverEnv['MALLOC_ARENA_MAX']).toBe('4');
    expect(serverEnv['MALLOC_MMAP_THRESHOLD_']).toBeUndefined();
    expect(serverEnv['NAIJA_SUP_ADDED_ENV']).toBeUndefined();
    await stopAsUnit(a, run);
  }, 60_000);
});
