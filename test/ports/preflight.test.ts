/**
 * runPreflight against real processes and real ports (127.0.0.1 / `::`, ephemeral): our orphaned
 * instance (supervisor SIGKILLed) is stopped from the record, a record whose PID was reused is
 * removed without a signal, a live supervisor is E_ALREADY_RUNNING, cleanup.match hits are listed
 * or stopped, port owners (Node on `::` and 127.0.0.1, python -m http.server, a pre-fork server)
 * are named in E_PORT_IN_USE or stopped with killExisting, a connected client is never touched,
 * TIME_WAIT is waited out (bounded), and portFallback picks another port.
 * Every process a test starts is gone at its end (asserted); nothing is slept on before an assert.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { recordPath, writeRecord, type InstanceRecord } from '../../src/control/record.js';
import { NaijaSupError } from '../../src/errors.js';
import { canBind } from '../../src/ports/availability.js';
import { findPortOwners } from '../../src/ports/owners.js';
import { runPreflight, type PreflightConfig, type PreflightResult } from '../../src/ports/preflight.js';
import { readBootId, readCmdline, readProcStat } from '../../src/process/identity.js';
import { assertAllGone, isRunning, startFixture, waitFor } from '../helpers/processes.js';
import { freePort as unusedPort } from '../helpers/supervise.js';
import { endPortTest, leaveServerSideTimeWait, ProcessTracker, startNodeFixture, startProcess, startPythonHttpServer, startTimeOf } from './fixtures/processes.js';

const tracker = new ProcessTracker();
const dirs: string[] = [];

afterEach(() => endPortTest(tracker, dirs));

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'naija-sup-preflight-'));
  dirs.push(dir);
  return dir;
}

let serial = 0;
function config(overrides: Partial<PreflightConfig> & { port: number }): PreflightConfig {
  serial += 1;
  return {
    name: `preflight-test-${process.pid}-${serial}`,
    host: '127.0.0.1',
    pidFile: null,
    portFallback: false,
    shutdown: { signal: 'SIGTERM', timeout: 3000 },
    cleanup: { killExisting: false, match: [] },
    ...overrides,
  };
}

/** A pid that no process has: a `node -e 0` that has already exited and been reaped. */
function deadPid(): number {
  const result = spawnSync(process.execPath, ['-e', '0']);
  if (result.pid === undefined) throw new Error('could not spawn node -e 0');
  return result.pid;
}

function recordFor(
  name: string,
  instance: { pid: number; pgid: number; startTime: string; port: number },
  supervisor: { pid: number; startTime: string },
): InstanceRecord {
  return {
    version: 1,
    name,
    pid: instance.pid,
    pgid: instance.pgid,
    startTime: instance.startTime,
    bootId: readBootId() ?? '',
    cmdline: readCmdline(instance.pid),
    port: instance.port,
    host: '127.0.0.1',
    supervisorPid: supervisor.pid,
    supervisorStartTime: supervisor.startTime,
    startedAt: Date.now(),
    cwd: process.cwd(),
  };
}

async function preflightError(run: Promise<PreflightResult>): Promise<NaijaSupError> {
  try {
    await run;
  } catch (error) {
    if (error instanceof NaijaSupError) return error;
    throw error;
  }
  throw new Error('expected runPreflight to throw a NaijaSupError');
}

interface HolderInfo {
  pid: number;
  port: number;
  address: string;
}

describe('step 1: our own stale instance, from the record', () => {
  it('stops the whole group of an orphan whose supervisor was SIGKILLed, removes record and PID file, touches nothing else', async () => {
    const runDir = tempDir();
    const pidFile = join(runDir, 'app.pid');
    // The orphan: a parent and its worker (same group; the worker holds the port).
    const orphan = await startFixture('forks-worker.mjs', { HOST: '127.0.0.1' });
    const worker = orphan.workerPid as number;
    const bystander = await startFixture('hold-port.mjs', { HOST: '127.0.0.1' });
    const port = orphan.port as number;
    const cfg = config({ port, pidFile });
    const startTime = readProcStat(orphan.pid)?.startTime as string;
    writeRecord(runDir, recordFor(cfg.name, { pid: orphan.pid, pgid: orphan.pgid, startTime, port }, { pid: deadPid(), startTime: '4242' }));
    writeFileSync(pidFile, `${orphan.pid}\n`);

    const result = await runPreflight({ config: cfg, runDir, killExisting: false, force: false });

    expect(result.port).toBe(port);
    expect(result.stopped).toHaveLength(1);
    expect(result.stopped[0]).toMatchObject({ pid: orphan.pid, pgid: orphan.pgid, scope: 'group', reason: 'stale-instance' });
    expect(['exited', 'killed']).toContain(result.stopped[0]?.outcome);
    expect(result.stopped[0]?.pids).toEqual(expect.arrayContaining([orphan.pid, worker]));
    expect(result.findings.join('\n')).toMatch(new RegExp(`stopped the orphaned instance of "${cfg.name}" \\(pid ${orphan.pid}`));
    expect(result.timings['stale-instance']).toBeGreaterThanOrEqual(0);
    await assertAllGone([orphan.pid, worker]);
    expect(existsSync(recordPath(runDir, cfg.name))).toBe(false);
    expect(existsSync(pidFile)).toBe(false);
    expect(await canBind('127.0.0.1', port)).toBe(true);

    expect(isRunning(bystander.pid)).toBe(true);
    await bystander.stop();
    await assertAllGone([bystander.pid]);
  });

  it('stops the orphaned workers when the recorded leader has exited too', async () => {
    const runDir = tempDir();
    const orphan = await startFixture('forks-worker.mjs', { HOST: '127.0.0.1' });
    const worker = orphan.workerPid as number;
    const port = orphan.port as number;
    const cfg = config({ port });
    const startTime = readProcStat(orphan.pid)?.startTime as string;
    writeRecord(runDir, recordFor(cfg.name, { pid: orphan.pid, pgid: orphan.pgid, startTime, port }, { pid: deadPid(), startTime: '4242' }));
    // The parent leaves on SIGTERM and abandons its worker, which keeps the port (in the old group).
    process.kill(orphan.pid, 'SIGTERM');
    await waitFor(() => orphan.child.exitInfo !== null, { message: 'the orphan parent did not exit' });
    expect(isRunning(worker)).toBe(true);

    const result = await runPreflight({ config: cfg, runDir, killExisting: false, force: false });

    expect(result.stopped.map((s) => [s.reason, s.pids])).toEqual([['stale-instance', [worker]]]);
    expect(result.findings.join('\n')).toMatch(/leader exited/);
    await assertAllGone([orphan.pid, worker]);
    expect(result.port).toBe(port);
  });

  it('removes a record whose PID now belongs to an unrelated process, and leaves that process alone', async () => {
    const runDir = tempDir();
    const pidFile = join(runDir, 'app.pid');
    const unrelated = await startFixture('hold-port.mjs', { HOST: '127.0.0.1' });
    const port = await unusedPort();
    const cfg = config({ port, pidFile });
    const realStart = readProcStat(unrelated.pid)?.startTime as string;
    // Same PID, different start time: what a reused PID looks like.
    const fakeStart = String(Number(realStart) - 100);
    writeRecord(runDir, recordFor(cfg.name, { pid: unrelated.pid, pgid: unrelated.pgid, startTime: fakeStart, port }, { pid: deadPid(), startTime: '4242' }));
    writeFileSync(pidFile, `${unrelated.pid}\n`);

    const result = await runPreflight({ config: cfg, runDir, killExisting: true, force: false });

    expect(result.stopped).toEqual([]);
    expect(result.findings.join('\n')).toMatch(new RegExp(`stale record removed: pid ${unrelated.pid} now belongs to another process`));
    expect(existsSync(recordPath(runDir, cfg.name))).toBe(false);
    expect(existsSync(pidFile)).toBe(false);
    expect(isRunning(unrelated.pid)).toBe(true);
    expect(readProcStat(unrelated.pid)?.startTime).toBe(realStart);

    await unrelated.stop();
    await assertAllGone([unrelated.pid]);
  });

  it('removes a stale PID file that no record vouches for, without signalling the pid in it', async () => {
    const runDir = tempDir();
    const pidFile = join(runDir, 'app.pid');
    const unrelated = await startFixture('hold-port.mjs', { HOST: '127.0.0.1' });
    writeFileSync(pidFile, `${unrelated.pid}\n`);
    const result = await runPreflight({ config: config({ port: await unusedPort(), pidFile }), runDir, killExisting: true, force: false });
    expect(result.findings.join('\n')).toMatch(new RegExp(`stale PID file .* removed \\(pid ${unrelated.pid}: now .*hold-port\\.mjs.*untouched\\)`));
    expect(existsSync(pidFile)).toBe(false);
    expect(isRunning(unrelated.pid)).toBe(true);
    await unrelated.stop();
    await assertAllGone([unrelated.pid]);
  });

  it('throws E_ALREADY_RUNNING, naming the supervisor, when the recorded supervisor is alive', async () => {
    const runDir = tempDir();
    const port = await unusedPort();
    const cfg = config({ port });
    const self = readProcStat(process.pid);
    const record = recordFor(cfg.name, { pid: process.pid, pgid: self?.pgid ?? 0, startTime: self?.startTime ?? '', port }, { pid: process.pid, startTime: self?.startTime ?? '' });
    writeRecord(runDir, { ...record, pid: deadPid(), cmdline: ['node', 'server.js'] });

    const error = await preflightError(runPreflight({ config: cfg, runDir, killExisting: true, force: true }));
    expect(error.code).toBe('E_ALREADY_RUNNING');
    expect(error.message).toContain(`naija-sup pid ${process.pid}`);
    expect(error.message).toContain(cfg.name);
    expect(error.fix).toContain(`naija-sup stop -n ${cfg.name}`);
    expect(existsSync(recordPath(runDir, cfg.name))).toBe(true);
  });
});

describe('step 2: cleanup.match', () => {
  it('lists a same-user match without killExisting, stops it (and only it) with killExisting', async () => {
    const runDir = tempDir();
    const marker = `naija-sup-stale-marker-${process.pid}-${Date.now()}`;
    const stale = await startFixture('hold-port.mjs', { HOST: '127.0.0.1' }, { args: [marker] });
    const bystander = await startFixture('hold-port.mjs', { HOST: '127.0.0.1' }, { args: ['something-else'] });
    const port = await unusedPort();

    const listed = await runPreflight({
      config: config({ port, cleanup: { killExisting: false, match: [marker] } }),
      runDir,
      killExisting: false,
      force: false,
    });
    expect(listed.matched.map((m) => [m.pid, m.pattern, m.user])).toEqual([[stale.pid, marker, userInfo().username]]);
    expect(listed.matched[0]?.command).toContain(marker);
    expect(listed.stopped).toEqual([]);
    expect(listed.details).toContainEqual(
      expect.objectContaining({ step: 'cleanup-match', level: 'warn', message: expect.stringMatching(new RegExp(`not stopped \\(use --kill-existing\\).*pid ${stale.pid}`)) }),
    );
    expect(isRunning(stale.pid)).toBe(true);

    // A regex pattern this time.
    const cleaned = await runPreflight({
      config: config({ port, cleanup: { killExisting: true, match: [`/stale-marker-${process.pid}-\\d+$/`] } }),
      runDir,
      killExisting: true,
      force: false,
    });
    expect(cleaned.stopped.map((s) => [s.pid, s.reason, s.scope])).toEqual([[stale.pid, 'cleanup-match', 'group']]);
    expect(cleaned.findings.join('\n')).toMatch(/stopped process group .* \(matches cleanup\.match\)/);
    await assertAllGone([stale.pid]);
    expect(isRunning(bystander.pid)).toBe(true);
    await bystander.stop();
    await assertAllGone([bystander.pid]);
  });
});

describe('step 3: the port held by someone else', () => {
  it('a Node server on `::`: E_PORT_IN_USE names pid, user, command line and age, with both ways out; --kill-existing stops it', async () => {
    const runDir = tempDir();
    const holder = await startFixture('hold-port.mjs', { HOST: '::' });
    const port = holder.port as number;
    const cfg = config({ port, host: '::' });

    const error = await preflightError(runPreflight({ config: cfg, runDir, killExisting: false, force: false }));
    expect(error.code).toBe('E_PORT_IN_USE');
    expect(error.message).toContain(`port ${port} (::) is in use by pid ${holder.pid}`);
    expect(error.message).toContain(`user ${userInfo().username}`);
    expect(error.message).toMatch(/running for (<1s|\d+s)/);
    expect(error.message).toContain('hold-port.mjs');
    expect(error.message).toContain(`[::]:${port}`);
    expect(error.fix).toContain('--kill-existing');
    expect(error.fix).toContain('--port N');
    expect(error.details[0]).toContain(`pid ${holder.pid}`);
    expect(error.details[0]).toContain(process.execPath);
    expect(isRunning(holder.pid)).toBe(true);

    const result = await runPreflight({ config: cfg, runDir, killExisting: true, force: false });
    expect(result.port).toBe(port);
    expect(result.portChanged).toBe(false);
    expect(result.stopped.map((s) => [s.pid, s.reason, s.outcome])).toEqual([[holder.pid, 'port-owner', 'exited']]);
    expect(result.findings.join('\n')).toMatch(new RegExp(`stopped process group ${holder.pgid} .*which held port ${port}`));
    await assertAllGone([holder.pid]);
    expect(await canBind('::', port)).toBe(true);
  });

  it('a Node server on 127.0.0.1, with a client connected to it: the server is stopped, the client is not', async () => {
    const runDir = tempDir();
    const holder = await startNodeFixture<HolderInfo>(tracker, 'hold-port.mjs', ['127.0.0.1'], { detached: true });
    const { port } = holder.info;
    const client = await startNodeFixture<{ pid: number; localPort: number }>(tracker, 'client.mjs', ['127.0.0.1', String(port)]);

    const error = await preflightError(runPreflight({ config: config({ port }), runDir, killExisting: false, force: false }));
    expect(error.message).toContain(`in use by pid ${holder.pid}`);
    expect(error.details.join('\n')).not.toContain(`pid ${client.pid} `);

    const result = await runPreflight({ config: config({ port }), runDir, killExisting: true, force: false });
    expect(result.stopped.flatMap((s) => s.pids)).toEqual([holder.pid]);
    await assertAllGone([holder.pid]);
    expect(startTimeOf(client.pid)).toBeDefined(); // the client is alive and untouched
    client.child.stdin?.end();
    await assertAllGone([client.pid]);
  });

  it('/usr/bin/python3 -m http.server: named, then stopped', async () => {
    const runDir = tempDir();
    const python = await startPythonHttpServer(tracker, { detached: true });
    const { port } = python.info;
    const error = await preflightError(runPreflight({ config: config({ port }), runDir, killExisting: false, force: false }));
    expect(error.message).toContain(`pid ${python.pid}`);
    expect(error.message).toContain('/usr/bin/python3 -u -m http.server 0 --bind 127.0.0.1');

    const result = await runPreflight({ config: config({ port }), runDir, killExisting: true, force: false });
    expect(result.stopped.map((s) => s.pid)).toEqual([python.pid]);
    await assertAllGone([python.pid]);
    expect(await canBind('127.0.0.1', port)).toBe(true);
  });

  it('a pre-fork server: the parent and both workers are named, and all three are stopped', async () => {
    const runDir = tempDir();
    const prefork = await startNodeFixture<{ pid: number; port: number; workers: number[] }>(tracker, 'prefork.mjs', [], { detached: true });
    for (const worker of prefork.info.workers) tracker.track(worker);
    const all = [prefork.pid, ...prefork.info.workers];
    const { port } = prefork.info;

    const error = await preflightError(runPreflight({ config: config({ port }), runDir, killExisting: false, force: false }));
    expect(error.message).toContain(`in use by pid ${prefork.pid}`);
    expect(error.message).toContain('and 2 more process(es) sharing the socket');
    for (const pid of all) expect(error.details.join('\n')).toContain(`pid ${pid} `);

    const result = await runPreflight({ config: config({ port }), runDir, killExisting: true, force: false });
    expect(result.stopped).toHaveLength(1);
    expect(result.stopped[0]?.scope).toBe('group');
    expect([...(result.stopped[0]?.pids ?? [])].sort()).toEqual([...all].sort());
    await assertAllGone(all);
    expect(await canBind('127.0.0.1', port)).toBe(true);
  });

  it('portFallback: the port stays with its owner and get-port picks another, loudly', async () => {
    const runDir = tempDir();
    const holder = await startFixture('hold-port.mjs', { HOST: '127.0.0.1' });
    const port = holder.port as number;
    const result = await runPreflight({ config: config({ port, portFallback: true }), runDir, killExisting: false, force: false });
    expect(result.requestedPort).toBe(port);
    expect(result.port).not.toBe(port);
    expect(result.portChanged).toBe(true);
    expect(result.details).toContainEqual(
      expect.objectContaining({ step: 'port-fallback', level: 'warn', message: expect.stringContaining(`using port ${result.port} instead`) }),
    );
    expect(result.stopped).toEqual([]);
    expect(isRunning(holder.pid)).toBe(true);
    expect(await canBind('127.0.0.1', result.port)).toBe(true);
    await holder.stop();
    await assertAllGone([holder.pid]);
  });
});

describe('step 4: TIME_WAIT', () => {
  it('TIME_WAIT left by a server with SO_REUSEADDR: no owner, the bind works, it proceeds at once and says why', async () => {
    const runDir = tempDir();
    const port = await leaveServerSideTimeWait();
    await waitFor(async () => (await findPortOwners({ port, host: '127.0.0.1' })).kind === 'time-wait', { message: 'no TIME_WAIT row' });

    const result = await runPreflight({ config: config({ port }), runDir, killExisting: false, force: false });
    expect(result.port).toBe(port);
    expect(result.details).toContainEqual(
      expect.objectContaining({ step: 'time-wait', message: expect.stringMatching(/TIME_WAIT .*binding works anyway \(SO_REUSEADDR\)/) }),
    );
  });

  it('TIME_WAIT left by a server without SO_REUSEADDR: waits (bounded), then E_PORT_IN_USE saying why; with portFallback moves on', async () => {
    const runDir = tempDir();
    // Python's plain socket does not set SO_REUSEADDR: its TIME_WAIT blocks even Node's bind.
    const script = [
      'import socket',
      's = socket.socket()',
      "s.bind(('127.0.0.1', 0))",
      's.listen(1)',
      "print('READY', s.getsockname()[1], flush=True)",
      'c, _ = s.accept()',
      'c.shutdown(socket.SHUT_WR)',
      'c.recv(1)',
      'c.close()',
      's.close()',
    ].join('\n');
    const python = await startProcess(tracker, '/usr/bin/python3', ['-u', '-c', script], (line) => {
      const match = /^READY (\d+)$/.exec(line);
      return match?.[1] === undefined ? undefined : { port: Number(match[1]) };
    });
    const { port } = python.info;
    const client = net.connect({ host: '127.0.0.1', port });
    client.resume();
    client.on('end', () => client.end());
    await new Promise((resolve) => client.once('close', resolve));
    await assertAllGone([python.pid]);
    await waitFor(async () => (await findPortOwners({ port, host: '127.0.0.1' })).kind === 'time-wait', { message: 'no TIME_WAIT row' });
    expect(await canBind('127.0.0.1', port)).toBe(false);

    const steps: string[] = [];
    const started = Date.now();
    const error = await preflightError(
      runPreflight({
        config: config({ port }),
        runDir,
        killExisting: true,
        force: false,
        onStep: (finding) => steps.push(finding.message),
        deps: { timeWaitTimeout: 400, timeWaitInterval: 50 },
      }),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(error.code).toBe('E_PORT_IN_USE');
    expect(error.message).toMatch(/blocked by 1 connection\(s\) in TIME_WAIT .*did not set SO_REUSEADDR.*waited/);
    expect(steps.join('\n')).toMatch(/waiting up to 400ms for them to expire/);

    const moved = await runPreflight({ config: config({ port, portFallback: true }), runDir, killExisting: false, force: false });
    expect(moved.port).not.toBe(port);
    expect(moved.findings.join('\n')).toMatch(/TIME_WAIT.*using port \d+ instead/);
  });
});
