/**
 * Finding your apps (issue 12), against real supervisors: each app is `naija-sup start` of the
 * built binary (`npm run build` first) in its own folder with its own config, sharing one run dir,
 * each with a real fixture server on its own port. The commands under test run in-process through
 * the CLI entry, from a folder that is none of the apps'.
 *
 * - `ls` lists the three (human and --json);
 * - with exactly one app running, `status` and `stop` from an unrelated folder target it;
 * - with two running they list them and exit 2 (nothing is stopped);
 * - after a start that gave up, `status` shows why (human and --json), `ls` too; a later successful
 *   start replaces it.
 * Every process started here is gone at the end of each test.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { CliIO } from '../src/cli/context.js';
import { run } from '../src/cli/main.js';
import type { AppEntry } from '../src/control/apps.js';
import { controlPaths } from '../src/control/paths.js';
import type { StatusSnapshot } from '../src/control/protocol.js';
import { lastRunPath, type LastRun } from '../src/control/record.js';
import { spawnInstance, type ChildHandle } from '../src/process/spawn.js';
import { assertAllGone, childEnv, fixtureCommand, killAllTracked, track, trackChild, trackedPids, waitFor } from './helpers/processes.js';
import { freePort, httpGet } from './helpers/supervise.js';

const BIN = fileURLToPath(new URL('../bin/naija-sup.js', import.meta.url));

const dirs: string[] = [];
afterEach(async () => {
  try {
    await assertAllGone([...trackedPids.keys()], 15_000);
  } finally {
    killAllTracked();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
});

function tempDir(prefix = 'naija-sup-ls-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

interface App {
  name: string;
  dir: string;
  port: number;
  supervisor: ChildHandle;
  lines: string[];
  /** Instance pids from the supervisor's `spawned` events, in order. */
  instances: number[];
}

/** Writes `<dir>/.naija-suprc.json` for `name` (a healthy server unless `config` says otherwise). */
function writeConfig(dir: string, name: string, port: number, config: Record<string, unknown> = {}): void {
  writeFileSync(join(dir, '.naija-suprc.json'), JSON.stringify({
    name,
    command: fixtureCommand('healthy-server.mjs'),
    port,
    host: '127.0.0.1',
    health: { path: '/health', interval: '25ms' },
    shutdown: { timeout: '5s' },
    ...config,
  }));
}

/** `naija-sup start` (foreground, JSON log lines) in `dir`; resolves at its ready or fatal event. */
async function startIn(dir: string, name: string, port: number, runDir: string): Promise<App> {
  const supervisor = spawnInstance({
    command: [process.execPath, BIN, 'start'],
    cwd: dir,
    env: childEnv({ NO_COLOR: '1', NAIJA_SUP_RUN_DIR: runDir, PORT: undefined, HOST: undefined }),
  });
  trackChild(supervisor);
  const app: App = { name, dir, port, supervisor, lines: [], instances: [] };
  supervisor.on('line', (_stream, line) => {
    app.lines.push(line);
    const event = /"event":"spawned"/.test(line) ? (JSON.parse(line) as { pid?: number }) : null;
    if (typeof event?.pid === 'number') {
      app.instances.push(event.pid);
      track(event.pid);
    }
  });
  await waitFor(() => app.lines.some((l) => /"event":"(ready|fatal)"/.test(l)) || supervisor.exitInfo !== null, {
    timeout: 20_000,
    message: () => `${name} neither ready nor fatal:\n${app.lines.join('\n')}`,
  });
  return app;
}

async function startApp(runDir: string, name: string): Promise<App> {
  const dir = tempDir(`naija-sup-ls-${name}-`);
  const port = await freePort();
  writeConfig(dir, name, port);
  const app = await startIn(dir, name, port, runDir);
  expect(app.lines.some((l) => l.includes('"event":"ready"')), app.lines.join('\n')).toBe(true);
  return app;
}

async function cli(runDir: string, argv: string[], cwd: string): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: (t) => { stdout += t; },
    stderr: (t) => { stderr += t; },
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], NO_COLOR: '1', NAIJA_SUP_RUN_DIR: runDir },
    cwd,
    isTTY: false,
  };
  const status = await run(argv, io);
  return { status, stdout, stderr };
}

/** Stops `app` by name and waits for its supervisor process to be reaped. */
async function stopByName(runDir: string, app: App, cwd: string): Promise<void> {
  const r = await cli(runDir, ['stop', '--name', app.name], cwd);
  expect(r.status, r.stderr).toBe(0);
  await waitFor(() => app.supervisor.exitInfo !== null, { timeout: 10_000 });
}

describe('naija-sup ls', () => {
  it('lists three running apps with name, state, pid, port, uptime, restarts and folder (human and --json)', async () => {
    const runDir = join(tempDir(), 'run');
    const elsewhere = tempDir();
    const apps = [await startApp(runDir, 'alpha'), await startApp(runDir, 'bravo'), await startApp(runDir, 'charlie')];

    const json = await cli(runDir, ['ls', '--json'], elsewhere);
    expect(json.status, json.stderr).toBe(0);
    const entries = JSON.parse(json.stdout) as AppEntry[];
    expect(entries.map((e) => e.name)).toEqual(['alpha', 'bravo', 'charlie']);
    for (const [i, app] of apps.entries()) {
      expect(entries[i]).toMatchObject({
        name: app.name, state: 'ready', running: true, pid: app.instances[0], port: app.port, restarts: 0, cwd: app.dir,
        supervisorPid: app.supervisor.pid, url: `http://127.0.0.1:${app.port}`, gaveUp: null,
      });
      expect(entries[i]?.uptimeMs).toBeGreaterThanOrEqual(0);
      // The pid and port it lists are the server that answers there.
      const health = await httpGet(app.port, '/health');
      expect(health.status).toBe(200);
      expect((JSON.parse(health.body) as { pid: number }).pid).toBe(app.instances[0]);
    }

    const human = await cli(runDir, ['ls'], elsewhere);
    expect(human.status, human.stderr).toBe(0);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+STATE\s+PID\s+PORT\s+UPTIME\s+RESTARTS\s+CWD$/);
    expect(lines).toHaveLength(4);
    for (const [i, app] of apps.entries()) {
      expect(lines[i + 1]).toMatch(new RegExp(`^${app.name}\\s+ready\\s+${String(app.instances[0])}\\s+${app.port}\\s+\\S+( \\S+)?\\s+0\\s+${app.dir}$`));
    }

    for (const app of apps) await stopByName(runDir, app, elsewhere);
    expect(await cli(runDir, ['ls'], elsewhere)).toEqual({ status: 0, stdout: 'no apps (start one with "naija-sup start")\n', stderr: '' });
  });

  it('finds an app whose name is too long for a plain socket name (hashed socket)', async () => {
    const runDir = join(tempDir(), 'a-run-dir-nested-deep-enough', 'run');
    const elsewhere = tempDir();
    const name = `long-${'x'.repeat(59)}`;
    expect(controlPaths(runDir, name).socket).not.toContain(name);
    const app = await startApp(runDir, name);
    const entries = JSON.parse((await cli(runDir, ['ls', '--json'], elsewhere)).stdout) as AppEntry[];
    expect(entries).toEqual([expect.objectContaining({ name, state: 'ready', pid: app.instances[0], port: app.port })]);
    const stop = await cli(runDir, ['stop'], elsewhere);
    expect(stop.status, stop.stderr).toBe(0);
    expect(stop.stderr).toContain(`${name} (the only app running`);
    await waitFor(() => app.supervisor.exitInfo !== null, { timeout: 10_000 });
  });
});

describe('status and stop outside an app\'s folder', () => {
  it('with exactly one app running, both target it (and say so)', async () => {
    const runDir = join(tempDir(), 'run');
    const elsewhere = tempDir();
    const app = await startApp(runDir, 'api');

    const status = await cli(runDir, ['status'], elsewhere);
    expect(status.status, status.stderr).toBe(0);
    expect(status.stderr).toBe(`naija-sup: api (the only app running; no config in ${elsewhere})\n`);
    expect(status.stdout).toMatch(/^name\s+api$/m);
    expect(status.stdout).toMatch(new RegExp(`^instance\\s+pid ${String(app.instances[0])}, `, 'm'));
    const json = await cli(runDir, ['status', '--json'], elsewhere);
    expect((JSON.parse(json.stdout) as StatusSnapshot).instancePid).toBe(app.instances[0]);

    const stop = await cli(runDir, ['stop'], elsewhere);
    expect(stop.status, stop.stderr).toBe(0);
    expect(stop.stderr).toContain('api (the only app running');
    expect(stop.stdout).toMatch(new RegExp(`^api: stopped \\(instance pid ${String(app.instances[0])} gracefully; supervisor pid ${app.supervisor.pid} (exited|exiting)\\)`));
    await waitFor(() => app.supervisor.exitInfo !== null, { timeout: 10_000 });
    expect((await httpGet(app.port, '/health')).status).toBe(0);

    // Nothing runs any more: not the folder's name ("…: not running", exit 0) but "no app running".
    for (const command of ['status', 'stop']) {
      const none = await cli(runDir, [command], elsewhere);
      expect(none.status).toBe(3);
      expect(none.stdout).toBe(`no app running (no config in ${elsewhere} names one; "naija-sup ls" lists every app)\n`);
    }
  });

  it('with two apps running, status and stop list them and exit 2; both keep serving', async () => {
    const runDir = join(tempDir(), 'run');
    const elsewhere = tempDir();
    const apps = [await startApp(runDir, 'api'), await startApp(runDir, 'worker')];

    for (const command of ['status', 'stop', 'restart']) {
      const r = await cli(runDir, [command], elsewhere);
      expect(r.status, `${command}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`naija-sup: 2 apps are running and no config in ${elsewhere} names one: pass --name (E_USAGE)`);
      for (const app of apps) expect(r.stderr).toMatch(new RegExp(`^  - ${app.name}\\s+ready\\s+${String(app.instances[0])}\\s+${app.port}\\s`, 'm'));
      expect(r.stderr).toContain(`fix: naija-sup ${command} --name api`);
    }
    for (const app of apps) {
      expect((await httpGet(app.port, '/health')).status).toBe(200);
      expect(app.supervisor.exitInfo).toBeNull();
      expect(app.instances).toHaveLength(1);
    }

    // A package.json name names the app too: no list there.
    const pkgDir = tempDir();
    writeFileSync(join(pkgDir, 'package.json'), JSON.stringify({ name: 'api', private: true }));
    const byPackage = await cli(runDir, ['status'], pkgDir);
    expect(byPackage.status, byPackage.stderr).toBe(0);
    expect(byPackage.stderr).toBe('');
    expect(byPackage.stdout).toMatch(new RegExp(`^instance\\s+pid ${String(apps[0]?.instances[0])}, `, 'm'));

    // A config in the folder still wins: `stop` there stops that app only.
    writeConfig(elsewhere, 'worker', apps[1]?.port as number);
    const stop = await cli(runDir, ['stop'], elsewhere);
    expect(stop.status, stop.stderr).toBe(0);
    expect(stop.stderr).toBe('');
    expect(stop.stdout).toMatch(/^worker: stopped/);
    await waitFor(() => apps[1]?.supervisor.exitInfo !== null, { timeout: 10_000 });
    expect((await httpGet(apps[0]?.port as number, '/health')).status).toBe(200);
    await stopByName(runDir, apps[0] as App, elsewhere);
  });
});

describe('status after the supervisor gave up', () => {
  it('shows the reason, the restarts and the last exit with its cause (human, --json, ls); a later successful start replaces it', async () => {
    const runDir = join(tempDir(), 'run');
    const elsewhere = tempDir();
    const dir = tempDir();
    const port = await freePort();
    writeConfig(dir, 'api', port, {
      command: fixtureCommand('exit-with.mjs'),
      env: { EXIT_CODE: '3', STDERR_TEXT: 'Error: DATABASE_URL is not set' },
      restart: { maxRestarts: 2, initialDelay: '10ms', maxDelay: '20ms' },
    });
    const failed = await startIn(dir, 'api', port, runDir);
    await waitFor(() => failed.supervisor.exitInfo !== null, { timeout: 10_000 });
    expect(failed.supervisor.exitInfo?.code).toBe(1);
    expect(failed.instances).toHaveLength(3);
    expect(existsSync(lastRunPath(runDir, 'api'))).toBe(true);

    const human = await cli(runDir, ['status', '--name', 'api'], elsewhere);
    expect(human.status).toBe(3);
    const [first, ...rest] = human.stdout.trimEnd().split('\n');
    expect(first).toMatch(/^api: not running — gave up \d+(\.\d)? m?s ago: never got ready in 3 attempts \(restart\.startRetries is 2\); the last one: exited with code 3; restarts 2; last exit: exited with code 3 \[exit-code\], \d+(\.\d)? m?s ago$/);
    expect(rest).toContain('  Error: DATABASE_URL is not set');
    expect(rest.at(-2)).toMatch(/^fix: /);
    expect(rest.at(-1)).toMatch(/^docs: \S+\/docs\/troubleshooting\.md#exit-code$/);
    // The same from the app's folder, found by its config.
    const inFolder = await cli(runDir, ['status'], dir);
    expect(inFolder.status).toBe(3);
    expect(inFolder.stdout).toMatch(/^api: not running — gave up .*; restarts 2; last exit: exited with code 3 \[exit-code\]/);

    const json = await cli(runDir, ['status', '--name', 'api', '--json'], elsewhere);
    expect(json.status).toBe(3);
    const gaveUp = (JSON.parse(json.stdout) as { gaveUp: LastRun }).gaveUp;
    expect(gaveUp).toMatchObject({
      name: 'api', state: 'fatal', reason: expect.stringContaining('never got ready in 3 attempts') as string, exitStatus: 1, restarts: 2, port, cwd: dir,
      supervisorPid: failed.supervisor.pid,
      lastExit: { code: 3, signal: null, cause: 'exit-code', summary: 'exited with code 3', stderrTail: ['Error: DATABASE_URL is not set'] },
    });

    const ls = JSON.parse((await cli(runDir, ['ls', '--json'], elsewhere)).stdout) as AppEntry[];
    expect(ls).toEqual([expect.objectContaining({ name: 'api', state: 'gave-up', running: false, pid: null, restarts: 2, cwd: dir })]);
    // Not running: it is no target for `stop` from elsewhere.
    expect((await cli(runDir, ['stop'], elsewhere)).status).toBe(3);

    writeConfig(dir, 'api', port);
    const fixed = await startIn(dir, 'api', port, runDir);
    expect(fixed.lines.some((l) => l.includes('"event":"ready"')), fixed.lines.join('\n')).toBe(true);
    expect(existsSync(lastRunPath(runDir, 'api'))).toBe(false);
    await stopByName(runDir, fixed, elsewhere);
    expect(await cli(runDir, ['status', '--name', 'api'], elsewhere)).toEqual({ status: 3, stdout: 'api: not running\n', stderr: '' });
  });
});
