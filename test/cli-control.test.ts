/**
 * The control commands (`status`, `stop`, `restart`, `reload`, `logs`) through the CLI entry
 * (`run(argv, io)`), against a supervisor running as a separate process
 * (test/control/fixtures/host-supervisor.mjs, built modules: run `npm run build` first) so that
 * `stop` can wait for the supervisor's own exit and a SIGKILL can leave a stale socket and an
 * orphaned instance behind. Every process started here is gone at the end of each test.
 */
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../src/cli/main.js';
import type { CliIO } from '../src/cli/context.js';
import { createLogWriter } from '../src/control/log-files.js';
import { controlPaths } from '../src/control/paths.js';
import type { StatusSnapshot } from '../src/control/protocol.js';
import { writeRecord } from '../src/control/record.js';
import { lockPathFor } from '../src/control/start-lock.js';
import { ensureRunDir } from '../src/control/run-dir.js';
import { listGroupMembers } from '../src/process/group.js';
import { isSameProcess, readBootId, readProcStat } from '../src/process/identity.js';
import { spawnInstance, type ChildHandle } from '../src/process/spawn.js';
import { assertAllGone, childEnv, fixtureCommand, killAllTracked, track, trackChild, trackedPids, waitFor } from './helpers/processes.js';
import { freePort } from './helpers/supervise.js';

const HOST = fileURLToPath(new URL('./control/fixtures/host-supervisor.mjs', import.meta.url));

const dirs: string[] = [];
afterEach(async () => {
  const pids = [...trackedPids.keys()];
  try {
    await assertAllGone(pids, 15_000);
  } finally {
    killAllTracked();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'naija-sup-cli-ctl-'));
  dirs.push(dir);
  return dir;
}

interface Host {
  handle: ChildHandle;
  pid: number;
  output: string[];
  /** The instance pids, in the order they were spawned. */
  instances: number[];
  waitFor(regex: RegExp, timeout?: number): Promise<RegExpMatchArray>;
}

/** Starts a supervisor process for `name` in `runDir`; resolves once its control socket listens. */
async function startHost(runDir: string, config: Record<string, unknown>, env: Record<string, string> = {}, wait: 'ready' | 'listening' | 'none' = 'ready'): Promise<Host> {
  const port = await freePort();
  const handle = spawnInstance({
    command: [process.execPath, HOST],
    cwd: tmpdir(),
    env: childEnv({
      HOST_RUN_DIR: runDir,
      HOST_NAME: 'api',
      HOST_CONFIG: JSON.stringify({ command: fixtureCommand('healthy-server.mjs'), port, host: '127.0.0.1', health: { path: '/health', interval: '25ms' }, shutdown: { timeout: '5s' }, ...config }),
      ...env,
    }),
  });
  trackChild(handle);
  const output: string[] = [];
  const instances: number[] = [];
  handle.on('line', (_stream, line) => {
    output.push(line);
    const spawned = /^EVENT (\{"type":"spawned".*)$/.exec(line);
    if (spawned?.[1]) {
      const pid = (JSON.parse(spawned[1]) as { pid: number }).pid;
      instances.push(pid);
      track(pid);
    }
  });
  const host: Host = {
    handle,
    pid: handle.pid as number,
    output,
    instances,
    waitFor: (regex, timeout = 15_000) => waitFor(() => output.map((l) => regex.exec(l)).find((m) => m !== null) ?? null, { timeout, message: () => `no ${regex} in host output:\n${output.join('\n')}` }),
  };
  if (wait !== 'none') await host.waitFor(/^HOST READY/);
  if (wait === 'ready') await host.waitFor(/^EVENT \{"type":"ready"/);
  return host;
}

interface Cli {
  status: number;
  stdout: string;
  stderr: string;
}

function cliIO(runDir: string, cwd: string, signals = new EventEmitter()): { io: CliIO; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: {
      stdout: (t) => { out += t; },
      stderr: (t) => { err += t; },
      env: { PATH: process.env['PATH'], HOME: process.env['HOME'], NO_COLOR: '1', NAIJA_SUP_RUN_DIR: runDir },
      cwd,
      isTTY: false,
      signals,
    },
    out: () => out,
    err: () => err,
  };
}

async function cli(runDir: string, argv: string[], cwd = tmpdir()): Promise<Cli> {
  const { io, out, err } = cliIO(runDir, cwd);
  const status = await run(argv, io);
  return { status, stdout: out(), stderr: err() };
}

async function statusJson(runDir: string): Promise<StatusSnapshot> {
  const r = await cli(runDir, ['status', '--name', 'api', '--json']);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as StatusSnapshot;
}

function gone(pid: number, startTime: string): boolean {
  return isSameProcess({ pid, startTime, bootId: readBootId() }) !== 'same';
}

describe('status', () => {
  it('prints a table (exit 0) and --json with every field', async () => {
    const runDir = join(tempDir(), 'run');
    const host = await startHost(runDir, {});
    const human = await cli(runDir, ['status', '--name', 'api']);
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(/^name\s+api$/m);
    expect(human.stdout).toMatch(/^state\s+ready$/m);
    expect(human.stdout).toMatch(new RegExp(`^supervisor\\s+pid ${host.pid}, up `, 'm'));
    expect(human.stdout).toMatch(new RegExp(`^instance\\s+pid ${String(host.instances[0])}, up `, 'm'));
    expect(human.stdout).toMatch(/^health\s+not watched \(no liveness or readiness probe configured\)$/m);
    expect(human.stdout).toMatch(/^last probe\s+startup, ok, \d+ ms, /m);
    expect(human.stdout).toMatch(/^memory\s+[\d.]+ MiB RSS/m);
    const json = await statusJson(runDir);
    expect(Object.keys(json).sort()).toEqual([
      'bootId', 'cpuPercent', 'cwd', 'health', 'healthWatchedBy', 'host', 'instancePid', 'instanceStartTime', 'instanceUptimeMs', 'lastExit', 'lastProbe',
      'mode', 'name', 'port', 'processes', 'restarts', 'rss', 'shutdownTimeoutMs', 'startupTimeoutMs', 'state', 'supervisorMemory', 'supervisorPid', 'supervisorStartTime', 'uptimeMs',
      'url', 'version',
    ]);
    expect(json).toMatchObject({ name: 'api', state: 'ready', supervisorPid: host.pid, instancePid: host.instances[0], restarts: 0, lastExit: null });
    expect(typeof json.rss).toBe('number');
    expect(typeof json.cpuPercent).toBe('number');
    expect(typeof json.uptimeMs).toBe('number');
    await cli(runDir, ['stop', '--name', 'api']);
  });

  it('finds the app by its config file when no --name is given', async () => {
    const runDir = join(tempDir(), 'run');
    const cwd = tempDir();
    writeFileSync(join(cwd, '.naija-suprc.json'), JSON.stringify({ name: 'api', command: 'node server.js' }));
    await startHost(runDir, {});
    const r = await cli(runDir, ['status'], cwd);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^state\s+ready$/m);
    expect((await cli(runDir, ['stop'], cwd)).status).toBe(0);
  });

  it('exits 3 saying "not running" when nothing runs (human and --json)', async () => {
    const runDir = join(tempDir(), 'run');
    expect(await cli(runDir, ['status', '--name', 'api'])).toEqual({ status: 3, stdout: 'api: not running\n', stderr: '' });
    ensureRunDir({ NAIJA_SUP_RUN_DIR: runDir });
    const json = await cli(runDir, ['status', '--name', 'api', '--json']);
    expect(json.status).toBe(3);
    expect(JSON.parse(json.stdout)).toEqual({ name: 'api', state: 'not-running', staleSocketRemoved: false, stalePidFileRemoved: false, orphanPid: null, starting: null, gaveUp: null });
  });

  it('removes a stale PID file (instance record) and says so', async () => {
    const runDir = ensureRunDir({ NAIJA_SUP_RUN_DIR: join(tempDir(), 'run') });
    const paths = controlPaths(runDir, 'api');
    // A record of processes that no longer exist: a real pid, but another start time.
    writeRecord(runDir, {
      version: 1, name: 'api', pid: process.pid, pgid: process.pid, startTime: '1', bootId: readBootId() ?? '', cmdline: ['node'],
      port: 1, host: '127.0.0.1', supervisorPid: process.pid, supervisorStartTime: '1', startedAt: 0, cwd: '/',
    });
    const r = await cli(runDir, ['status', '--name', 'api']);
    expect(r.status).toBe(3);
    expect(r.stdout).toBe('api: not running\nstale PID file removed (its process is gone)\n');
    expect(existsSync(paths.record)).toBe(false);
  });

  it('refuses a run dir with the wrong mode', async () => {
    const dir = tempDir(); // mkdtemp: 0700
    const { chmodSync } = await import('node:fs');
    chmodSync(dir, 0o750);
    const r = await cli(dir, ['status', '--name', 'api']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('(E_RUN_DIR)');
    expect(r.stderr).toContain(`fix: chmod 700 ${dir}`);
  });
});

describe('stop', () => {
  it('says "not running" and exits 0 when nothing runs', async () => {
    const runDir = join(tempDir(), 'run');
    expect(await cli(runDir, ['stop', '--name', 'api'])).toEqual({ status: 0, stdout: 'api: not running\n', stderr: '' });
    ensureRunDir({ NAIJA_SUP_RUN_DIR: runDir });
    expect(await cli(runDir, ['stop', '--name', 'api'])).toEqual({ status: 0, stdout: 'api: not running\n', stderr: '' });
  });

  it('stops gracefully and returns only when the instance group is gone and the supervisor let go of the name', async () => {
    const runDir = join(tempDir(), 'run');
    const host = await startHost(runDir, { env: { DRAIN_MS: '1500' } });
    const instance = host.instances[0] as number;
    const hostStart = readProcStat(host.pid)?.startTime as string;
    const t0 = Date.now();
    const r = await cli(runDir, ['stop', '--name', 'api']);
    const elapsed = Date.now() - t0;
    // Checked at once, without polling: stop itself waited.
    expect(listGroupMembers(instance)).toEqual([]);
    expect(existsSync(lockPathFor(controlPaths(runDir, 'api').socket)), 'the start lock is still held').toBe(false);
    // The supervisor's last steps (its log closed, its exit) may follow the stop's return.
    await waitFor(() => gone(host.pid, hostStart), { timeout: 10_000, message: 'the supervisor did not end' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^api: stopped \\(instance pid ${instance} gracefully; supervisor pid ${host.pid} (exited|exiting)\\) in [\\d.]+ m?s$`, 'm'));
    expect(elapsed).toBeGreaterThanOrEqual(1400);
    expect(host.output).toContain('[api] CLOSED');
    const after = await cli(runDir, ['status', '--name', 'api']);
    expect(after).toEqual({ status: 3, stdout: 'api: not running\n', stderr: '' });
  });

  it('--timeout shortens the grace period; --force kills at once', async () => {
    const runDir = join(tempDir(), 'run');
    await startHost(runDir, { command: fixtureCommand('ignore-sigterm.mjs'), health: { type: 'tcp', interval: '25ms' }, shutdown: { timeout: '30s' } });
    const t0 = Date.now();
    const r = await cli(runDir, ['stop', '--name', 'api', '--timeout', '300ms']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('killed after the grace period');
    expect(Date.now() - t0).toBeLessThan(10_000);

    await startHost(runDir, { command: fixtureCommand('ignore-sigterm.mjs'), health: { type: 'tcp', interval: '25ms' }, shutdown: { timeout: '30s' } });
    const t1 = Date.now();
    const forced = await cli(runDir, ['stop', '--name', 'api', '--force']);
    expect(forced.status, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/killed/);
    expect(Date.now() - t1).toBeLessThan(10_000);
  });

  it('rejects a malformed --timeout', async () => {
    const r = await cli(join(tempDir(), 'run'), ['stop', '--name', 'api', '--timeout', 'soon']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('(E_USAGE)');
  });

  it('after the supervisor was SIGKILLed: status reports the stale socket and the orphan; stop stops the orphan from its record', async () => {
    const runDir = join(tempDir(), 'run');
    const host = await startHost(runDir, {});
    const instance = host.instances[0] as number;
    process.kill(host.pid, 'SIGKILL');
    await waitFor(() => host.handle.exitInfo !== null);
    expect(readProcStat(instance)?.state).toMatch(/[RS]/); // the instance outlived its supervisor

    const status = await cli(runDir, ['status', '--name', 'api']);
    expect(status.status).toBe(3);
    expect(status.stdout).toContain('api: not running\nstale socket removed (its supervisor had died)\n');
    expect(status.stdout).toContain(`its instance is still running without a supervisor: pid ${instance}`);

    const stop = await cli(runDir, ['stop', '--name', 'api']);
    expect(stop.status, stop.stderr).toBe(0);
    expect(stop.stdout).toContain(`stopped the orphaned instance pid ${instance} from its record (exited gracefully)`);
    expect(listGroupMembers(instance)).toEqual([]);
    expect(existsSync(controlPaths(runDir, 'api').record)).toBe(false);
    expect(await cli(runDir, ['status', '--name', 'api'])).toEqual({ status: 3, stdout: 'api: not running\n', stderr: '' });
  });
  it('a supervisor that accepts but never answers (SIGSTOP): status says so; stop --force kills it and its instance', async () => {
    const runDir = join(tempDir(), 'run');
    const host = await startHost(runDir, {});
    const instance = host.instances[0] as number;
    process.kill(host.pid, 'SIGSTOP');
    const status = await cli(runDir, ['status', '--name', 'api']);
    expect(status.status).toBe(1);
    expect(status.stderr).toContain('did not answer');
    expect(status.stderr).toContain('stop --force');
    const forced = await cli(runDir, ['stop', '--name', 'api', '--force']);
    expect(forced.status, forced.stderr).toBe(0);
    expect(forced.stdout).toContain(`killed (its supervisor pid ${host.pid} did not answer; instance pid ${instance} was killed (SIGKILL))`);
    await waitFor(() => host.handle.exitInfo !== null);
    expect(host.handle.exitInfo?.signal).toBe('SIGKILL');
    expect(listGroupMembers(instance)).toEqual([]);
    const after = await cli(runDir, ['status', '--name', 'api']);
    expect(after.status).toBe(3);
    expect(after.stdout).toContain('stale socket removed');
  });
});

describe('restart and reload', () => {
  it('restart: a new pid under the same supervisor, restarts + 1', async () => {
    const runDir = join(tempDir(), 'run');
    const host = await startHost(runDir, {});
    const before = await statusJson(runDir);
    const r = await cli(runDir, ['restart', '--name', 'api']);
    expect(r.status, r.stderr).toBe(0);
    const after = await statusJson(runDir);
    expect(after.instancePid).not.toBe(before.instancePid);
    expect(after.supervisorPid).toBe(host.pid);
    expect(after.restarts).toBe(before.restarts + 1);
    expect(after.state).toBe('ready');
    expect(r.stdout).toMatch(new RegExp(`^api: restarted \\(pid ${String(before.instancePid)} → pid ${String(after.instancePid)}, restarts 1, http://127\\.0\\.0\\.1:\\d+\\) in`));
    expect(listGroupMembers(before.instancePid as number)).toEqual([]);
    await cli(runDir, ['stop', '--name', 'api']);
  });

  it('reload: an invalid config is rejected with its errors and the instance keeps running; a valid one restarts', async () => {
    const runDir = join(tempDir(), 'run');
    const reloadFile = join(tempDir(), 'reload.json');
    writeFileSync(reloadFile, JSON.stringify({ invalid: 'port: expected a port number 1–65535, got "nope"' }));
    await startHost(runDir, {}, { HOST_RELOAD_FILE: reloadFile });
    const before = await statusJson(runDir);
    const rejected = await cli(runDir, ['reload', '--name', 'api']);
    expect(rejected.status).toBe(2);
    expect(rejected.stderr).toContain('(E_CONFIG_INVALID)');
    expect(rejected.stderr).toContain('  - port: expected a port number 1–65535, got "nope"');
    const same = await statusJson(runDir);
    expect(same).toMatchObject({ state: 'ready', instancePid: before.instancePid, restarts: 0 });

    writeFileSync(reloadFile, JSON.stringify({ env: { RELOADED: '1' } }));
    const ok = await cli(runDir, ['reload', '--name', 'api']);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^api: reloaded \(pid \d+ → pid \d+, restarts 1/);
    expect((await statusJson(runDir)).instancePid).not.toBe(before.instancePid);
    await cli(runDir, ['stop', '--name', 'api']);
  });

  it('exits 3 when nothing runs', async () => {
    const r = await cli(join(tempDir(), 'run'), ['restart', '--name', 'api']);
    expect(r.status).toBe(3);
    expect(r.stdout).toContain('api: not running');
  });
});

describe('logs', () => {
  it('prints the last lines of the supervisor\'s log (events and output) and -f follows new ones until Ctrl+C', async () => {
    const runDir = join(tempDir(), 'run');
    const host = await startHost(runDir, {});
    const last = await cli(runDir, ['logs', '--name', 'api', '-n', '2']);
    expect(last.status).toBe(0);
    expect(last.stdout.trim().split('\n')).toHaveLength(2);
    const all = await cli(runDir, ['logs', '--name', 'api']);
    expect(all.stdout).toMatch(/^\S+Z out \| READY port=\d+ pid=\d+$/m);
    expect(all.stdout).toMatch(new RegExp(`^\\S+Z sup \\| ready: pid ${String(host.instances[0])} in \\d+ ms`, 'm'));

    const signals = new EventEmitter();
    const { io, out } = cliIO(runDir, tmpdir(), signals);
    const following = run(['logs', '--name', 'api', '-f', '--lines', '0'], io);
    expect((await cli(runDir, ['restart', '--name', 'api'])).status).toBe(0);
    const newPid = host.instances[1] as number;
    await waitFor(() => out().includes(`ready: pid ${newPid}`), { timeout: 10_000, message: () => out() });
    expect(out()).toContain('sup | restarting (reload)');
    expect(out()).not.toContain(`ready: pid ${String(host.instances[0])}`); // --lines 0: only new lines
    signals.emit('SIGINT');
    await expect(following).resolves.toBe(0);
    await cli(runDir, ['stop', '--name', 'api']);
  });

  it('follows across rotation', async () => {
    const runDir = ensureRunDir({ NAIJA_SUP_RUN_DIR: join(tempDir(), 'run') });
    const writer = createLogWriter({ dir: runDir, name: 'api', maxSize: 200, maxFiles: 20 });
    writer.write('old line');
    const signals = new EventEmitter();
    const { io, out } = cliIO(runDir, tmpdir(), signals);
    const following = run(['logs', '--name', 'api', '-f'], io);
    await waitFor(() => out().includes('old line'));
    for (let i = 0; i < 30; i += 1) writer.write(`new line ${i} ${'z'.repeat(30)}`);
    await waitFor(() => out().includes('new line 29'), { message: () => out() });
    signals.emit('SIGINT');
    await expect(following).resolves.toBe(0);
    writer.close();
    const lines = out().trim().split('\n');
    expect(lines).toEqual(['old line', ...Array.from({ length: 30 }, (_, i) => `new line ${i} ${'z'.repeat(30)}`)]);
  });

  it('says so when there is no log', async () => {
    const r = await cli(join(tempDir(), 'run'), ['logs', '--name', 'api']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('no log for "api" yet');
  });
});

describe('one supervisor per name (separate processes)', () => {
  it('of three supervisors started at once, exactly one wins; the others name its pid', async () => {
    const runDir = join(tempDir(), 'run');
    const hosts = await Promise.all([0, 1, 2].map(() => startHost(runDir, {}, {}, 'none')));
    await Promise.all(hosts.map((h) => h.waitFor(/^HOST (READY|FAILED)/)));
    const winners = hosts.filter((h) => h.output.some((l) => l.startsWith('HOST READY')));
    const losers = hosts.filter((h) => h.output.some((l) => l.startsWith('HOST FAILED')));
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(2);
    const winner = winners[0] as Host;
    for (const loser of losers) {
      const line = loser.output.find((l) => l.startsWith('HOST FAILED')) as string;
      expect(line).toContain('E_ALREADY_RUNNING');
      expect(line).toContain(`supervisor pid ${winner.pid}`);
      await waitFor(() => loser.handle.exitInfo !== null);
    }
    await winner.waitFor(/^EVENT \{"type":"ready"/);
    expect((await statusJson(runDir)).supervisorPid).toBe(winner.pid);
    expect((await cli(runDir, ['stop', '--name', 'api'])).status).toBe(0);
  });
});
