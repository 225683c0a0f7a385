/**
 * freePort (the core of `naija-sup free-port`) and describePortHolders against real holders on
 * ephemeral ports: a dry run only names, a stop frees the port and a bind confirms it, a pre-fork
 * server in our own process group is stopped pid by pid (never by its group, which is ours), a
 * server that ignores SIGTERM is killed after the grace period, a connected client is never
 * touched, and owners that must not be stopped (another user's, a live naija-sup instance) stop
 * nothing at all. Every process a test starts is gone at its end.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeRecord, type InstanceRecord } from '../../src/control/record.js';
import { canBind } from '../../src/ports/availability.js';
import { describePortHolders, freePort } from '../../src/ports/free-port.js';
import { readBootId, readCmdline, readProcStat } from '../../src/process/identity.js';
import { assertAllGone, isRunning, startFixture } from '../helpers/processes.js';
import { freePort as unusedPort } from '../helpers/supervise.js';
import { endPortTest, ProcessTracker, startNodeFixture, startTimeOf } from './fixtures/processes.js';

const tracker = new ProcessTracker();
const dirs: string[] = [];

afterEach(() => endPortTest(tracker, dirs));

/** A record of app `name` whose instance is `instance` and whose (live) supervisor is this test process. */
function supervisedByThisProcess(name: string, instance: { pid: number; pgid: number }, port: number): InstanceRecord {
  return {
    version: 1,
    name,
    pid: instance.pid,
    pgid: instance.pgid,
    startTime: readProcStat(instance.pid)?.startTime ?? '',
    bootId: readBootId() ?? '',
    cmdline: readCmdline(instance.pid),
    port,
    host: '127.0.0.1',
    supervisorPid: process.pid,
    supervisorStartTime: readProcStat(process.pid)?.startTime ?? '',
    startedAt: Date.now(),
    cwd: process.cwd(),
  };
}

describe('freePort', () => {
  it('reports a port nobody holds as free, confirmed by a bind, and stops nothing', async () => {
    const port = await unusedPort();
    const result = await freePort({ port, host: '127.0.0.1' });
    expect(result).toMatchObject({ port, free: true, stopped: [], refused: [], owners: [] });
    expect(result.before.kind).toBe('free');
  });

  it('dry run names the owner of a `::` server and stops nothing; then a real run stops it and the port is free', async () => {
    const holder = await startFixture('hold-port.mjs', { HOST: '::' });
    const port = holder.port as number;

    const dry = await freePort({ port, dryRun: true });
    expect(dry.free).toBe(false);
    expect(dry.reason).toMatch(/^dry run: 1 process\(es\) hold the port; nothing was stopped/);
    expect(dry.stopped).toEqual([]);
    expect(dry.owners).toHaveLength(1);
    expect(dry.owners[0]).toMatchObject({ pid: holder.pid, user: userInfo().username, addresses: [`[::]:${port}`], ours: null });
    expect(dry.owners[0]?.ageMs).toBeGreaterThanOrEqual(0);
    expect(isRunning(holder.pid)).toBe(true);

    const result = await freePort({ port, timeout: 3000 });
    expect(result.free).toBe(true);
    expect(result.stopped).toEqual([
      expect.objectContaining({ pid: holder.pid, pgid: holder.pgid, scope: 'group', reason: 'port-owner', signal: 'SIGTERM', outcome: 'exited', forced: false }),
    ]);
    expect(result.after?.kind).toBe('free');
    await assertAllGone([holder.pid]);
    expect(await canBind(undefined, port)).toBe(true);
  });

  it('a pre-fork server in our own process group: all three pids found and stopped one by one, our group never signalled', async () => {
    // Not detached: parent and workers share the test runner's process group.
    const prefork = await startNodeFixture<{ pid: number; port: number; workers: number[] }>(tracker, 'prefork.mjs');
    for (const worker of prefork.info.workers) tracker.track(worker);
    const all = [prefork.pid, ...prefork.info.workers].sort((a, b) => a - b);
    const ourGroup = readProcStat(process.pid)?.pgid;
    expect(readProcStat(prefork.pid)?.pgid).toBe(ourGroup);
    const groupSignals: number[] = [];

    const result = await freePort({
      port: prefork.info.port,
      host: '127.0.0.1',
      timeout: 3000,
      deps: {
        kill: (pid, signal) => {
          if (pid < 0) groupSignals.push(pid);
          process.kill(pid, signal);
        },
      },
    });
    expect(result.owners.map((o) => o.pid).sort((a, b) => a - b)).toEqual(all);
    expect(result.free).toBe(true);
    expect(result.stopped).toHaveLength(1);
    expect(result.stopped[0]).toMatchObject({ scope: 'process', outcome: 'exited' });
    expect(result.stopped[0]?.detail).toMatch(/pids only: .*naija-sup's own process group/);
    expect([...(result.stopped[0]?.pids ?? [])].sort((a, b) => a - b)).toEqual(all);
    expect(groupSignals).toEqual([]);
    await assertAllGone(all);
  });

  it('a server that ignores SIGTERM is killed after the grace period; a connected client is untouched', async () => {
    const holder = await startFixture('ignore-sigterm.mjs', { HOST: '127.0.0.1' });
    const port = holder.port as number;
    const client = await startNodeFixture<{ pid: number; localPort: number }>(tracker, 'client.mjs', ['127.0.0.1', String(port)]);

    const result = await freePort({ port, host: '127.0.0.1', timeout: 300 });
    expect(result.free).toBe(true);
    expect(result.owners.map((o) => o.pid)).toEqual([holder.pid]);
    expect(result.stopped).toEqual([expect.objectContaining({ pid: holder.pid, outcome: 'killed', forced: true })]);
    expect(result.stopped[0]?.durationMs).toBeGreaterThanOrEqual(300);
    await assertAllGone([holder.pid]);
    expect(startTimeOf(client.pid)).toBeDefined();
    client.child.stdin?.end();
    await assertAllGone([client.pid]);
  });

  it("refuses another user's process without root and --force, and then stops nothing", async () => {
    const holder = await startFixture('hold-port.mjs', { HOST: '127.0.0.1' });
    const port = holder.port as number;
    const ourUid = process.getuid?.() ?? 0;
    // Pretend to be someone else: the holder is then "another user's process".
    const otherUid = ourUid === 0 ? 4242 : ourUid + 1;
    const refused = await freePort({ port, host: '127.0.0.1', deps: { uid: otherUid } });
    expect(refused.free).toBe(false);
    expect(refused.stopped).toEqual([]);
    expect(refused.refused).toEqual([
      expect.objectContaining({ pid: holder.pid, reason: expect.stringContaining("only root with --force stops another user's process") }),
    ]);
    expect(refused.reason).toMatch(/^nothing was stopped: pid \d+: it belongs to user/);
    expect(isRunning(holder.pid)).toBe(true);

    // Root (uid 0) with --force may.
    const forced = await freePort({ port, host: '127.0.0.1', force: true, timeout: 3000, deps: { uid: 0 } });
    expect(forced.free).toBe(true);
    await assertAllGone([holder.pid]);
  });

  it('refuses an instance whose naija-sup supervisor is alive (it would restart it), and marks it as ours', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'naija-sup-free-port-'));
    dirs.push(runDir);
    const holder = await startFixture('hold-port.mjs', { HOST: '127.0.0.1' });
    const port = holder.port as number;
    writeRecord(runDir, supervisedByThisProcess('api', holder, port));
    const result = await freePort({ port, host: '127.0.0.1', runDir });
    expect(result.owners[0]?.ours).toEqual({ name: 'api', supervisorPid: process.pid, supervisorAlive: true });
    expect(result.free).toBe(false);
    expect(result.refused[0]?.reason).toContain('naija-sup stop -n api');
    expect(isRunning(holder.pid)).toBe(true);
    await holder.stop();
    await assertAllGone([holder.pid]);
  });

  it("refuses a child of a live supervisor that its record does not name (the parked standby, a green): it is that supervisor's", async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'naija-sup-free-port-'));
    dirs.push(runDir);
    // This test process plays the supervisor: the recorded instance and the unnamed child that holds
    // the port (in handoff mode a standby holds a copy of the listening socket) are both its children.
    const instance = await startFixture('hold-port.mjs', { HOST: '127.0.0.1' });
    const standby = await startFixture('hold-port.mjs', { HOST: '127.0.0.1' });
    const port = standby.port as number;
    writeRecord(runDir, supervisedByThisProcess('api', instance, port));
    const result = await freePort({ port, host: '127.0.0.1', runDir });
    expect(result.owners.map((owner) => owner.pid)).toEqual([standby.pid]);
    expect(result.owners[0]?.ours).toEqual({ name: 'api', supervisorPid: process.pid, supervisorAlive: true });
    expect(result.free).toBe(false);
    expect(result.stopped).toEqual([]);
    expect(result.refused[0]?.reason).toContain('naija-sup stop -n api');
    expect(isRunning(standby.pid)).toBe(true);
    await standby.stop();
    await instance.stop();
    await assertAllGone([standby.pid, instance.pid]);
  });

  it('a child of a recorded supervisor that is no longer alive (its pid reused: another start time) is not protected', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'naija-sup-free-port-'));
    dirs.push(runDir);
    const instance = await startFixture('hold-port.mjs', { HOST: '127.0.0.1' });
    const child = await startFixture('hold-port.mjs', { HOST: '127.0.0.1' });
    const port = child.port as number;
    writeRecord(runDir, { ...supervisedByThisProcess('api', instance, port), supervisorStartTime: '1' });
    const result = await freePort({ port, host: '127.0.0.1', runDir });
    expect(result.owners[0]?.ours).toBeNull();
    expect(result.stopped.map((stop) => stop.pid)).toEqual([child.pid]);
    expect(result.free).toBe(true);
    await instance.stop();
    await assertAllGone([child.pid, instance.pid]);
  });
});

describe('describePortHolders', () => {
  it('names the owner of a held port for a fatal "port in use" message, and says when nothing holds it', async () => {
    const holder = await startFixture('hold-port.mjs', { HOST: '127.0.0.1' });
    const port = holder.port as number;
    const lines = await describePortHolders(port, '127.0.0.1');
    expect(lines[0]).toMatch(new RegExp(`^port ${port} is held by pid ${holder.pid} \\(user ${userInfo().username}, running for .*\\): .*hold-port\\.mjs — listening on 127\\.0\\.0\\.1:${port}$`));
    await holder.stop();
    await assertAllGone([holder.pid]);
    expect(await describePortHolders(port, '127.0.0.1')).toEqual([`nothing listens on port ${port} now`]);
  });
});
