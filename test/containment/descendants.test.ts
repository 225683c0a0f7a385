/**
 * DescendantTracker against real processes: a parent whose server child left the group with
 * setsid (test/fixtures/setsid-grandchild.mjs). The tracker must know the grandchild while the
 * parent lives, keep knowing it (by pid and start time) after the parent died and it was
 * reparented, and stop it by pid. Every process started is gone at the end.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DescendantTracker } from '../../src/process/descendants.js';
import { PROC, readProcStat, type Proc } from '../../src/process/identity.js';
import { spawnInstance } from '../../src/process/spawn.js';
import { signalGroup } from '../../src/process/terminate.js';
import { assertAllGone, childEnv, isRunning, killAllTracked, startFixture, track, trackChild, waitFor, waitForLine } from '../helpers/processes.js';

const READY = /READY port=(\d+) pid=(\d+) grandchild=(\d+)/;

afterEach(() => {
  killAllTracked();
});

async function startEscaping(env: Record<string, string> = {}): Promise<{ parent: number; grandchild: number; target: Parameters<typeof signalGroup>[0] }> {
  const fx = await startFixture('setsid-grandchild.mjs', env, { readyPattern: READY });
  const grandchild = Number(fx.ready[3]);
  track(grandchild);
  return { parent: fx.pid, grandchild, target: fx.target };
}

describe('DescendantTracker', () => {
  it('knows a setsid grandchild as escaped, and still after its parent died', async () => {
    const { parent, grandchild, target } = await startEscaping();
    const tracker = new DescendantTracker(parent);
    expect(tracker.sample().map((p) => p.pid)).toEqual([parent, grandchild].sort((a, b) => a - b));
    expect(tracker.escaped().map((p) => p.pid)).toEqual([grandchild]);
    expect(readProcStat(grandchild)?.sid).toBe(grandchild);

    // The group signal reaches the parent only; the grandchild is orphaned but keeps listening.
    expect(signalGroup(target, 'SIGTERM')).toBe('sent');
    await waitFor(() => !isRunning(parent), { message: 'the parent did not exit on SIGTERM' });
    await waitFor(() => readProcStat(grandchild)?.ppid !== parent, { message: 'the grandchild was not reparented' });
    expect(isRunning(grandchild)).toBe(true);
    expect(tracker.escaped().map((p) => p.pid)).toEqual([grandchild]);

    expect(tracker.signalEscaped('SIGTERM')).toEqual([grandchild]);
    await assertAllGone([parent, grandchild]);
    expect(tracker.alive()).toEqual([]);
  });

  it('a pass just before the group signal keeps a child that left the group since the last pass, though its parent exits on the signal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'naija-sup-setsid-late-'));
    try {
      // The leader exits on SIGTERM; asked, it starts a child in a session of its own that ignores SIGTERM.
      const leaderCode = `const { spawn } = require('node:child_process');
process.on('SIGTERM', () => process.exit(0));
process.on('message', () => { const c = spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); require('node:fs').writeFileSync(process.argv[1], 'up'); setInterval(() => {}, 1e6)", ${JSON.stringify(join(dir, 'ready'))}], { detached: true, stdio: 'ignore' }); c.unref(); require('node:fs').writeFileSync(${JSON.stringify(join(dir, 'child.pid'))}, String(c.pid)); process.send(c.pid); });
process.send('up');`;
      const leader = spawn(process.execPath, ['-e', leaderCode], { detached: true, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      const leaderExited = new Promise((resolve) => leader.once('exit', resolve));
      track(leader.pid as number);
      await new Promise((resolve) => leader.once('message', resolve));
      const tracker = new DescendantTracker(leader.pid as number);
      tracker.sample(); // the last periodic pass, before the child
      leader.send('go');
      const child = await new Promise<number>((resolve) => leader.once('message', (pid) => resolve(pid as number)));
      track(child);
      await waitFor(() => existsSync(join(dir, 'ready')), { timeout: 10_000, message: 'the child never started' });
      // A pass no older than a minute is taken as it is: nothing new is learnt.
      tracker.passWithin(60_000);
      expect(tracker.known().map((p) => p.pid)).toEqual([leader.pid]);
      // What signalInstance does before the group signal.
      tracker.passWithin(0);
      process.kill(-(leader.pid as number), 'SIGTERM');
      await leaderExited;
      // Reparented, in a session of its own: only the tracker's memory ties it to the instance.
      expect(tracker.escaped().map((p) => p.pid)).toEqual([child]);
      expect(tracker.signalEscaped('SIGKILL')).toEqual([child]);
      await assertAllGone([leader.pid as number, child]);
    } finally {
      // The child ignores SIGTERM in a session of its own: should the test end before it tracked
      // the child, the pid file the leader wrote first lets afterEach end it.
      if (existsSync(join(dir, 'child.pid'))) track(Number(readFileSync(join(dir, 'child.pid'), 'utf8')));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps what it remembers through a pass that could read nothing (EMFILE under a flood reads as "gone")', async () => {
    const { parent, grandchild } = await startEscaping({ PARENT_IGNORE_SIGTERM: '1' });
    let failing = false;
    // The real /proc, whose reads fail while `failing` is set, as every open does when the
    // supervisor is out of file descriptors.
    const proc: Proc = { ...PROC, pids: () => (failing ? [] : PROC.pids()), stat: (pid) => (failing ? null : PROC.stat(pid)) };
    const tracker = new DescendantTracker(parent, { proc });
    const both = [parent, grandchild].sort((a, b) => a - b);
    expect(tracker.sample().map((p) => p.pid)).toEqual(both);
    failing = true;
    expect(tracker.sample().map((p) => p.pid)).toEqual(both);
    await tracker.sampleInSlices();
    failing = false;
    expect(tracker.known().map((p) => p.pid)).toEqual(both);
    expect(tracker.sample().map((p) => p.pid)).toEqual(both);
  });

  it('keeps a remembered process whose own read failed in a pass that read the rest, and forgets it once the kernel says it is gone', async () => {
    const { parent, grandchild } = await startEscaping({ PARENT_IGNORE_SIGTERM: '1' });
    let failing = false;
    // Only the grandchild's reads fail, as some opens do when the fds run out halfway through a pass.
    const proc: Proc = { ...PROC, stat: (pid) => (failing && pid === grandchild ? null : PROC.stat(pid)) };
    const sent: number[] = [];
    const tracker = new DescendantTracker(parent, { proc, kill: (pid) => sent.push(pid) });
    const both = [parent, grandchild].sort((a, b) => a - b);
    expect(tracker.sample().map((p) => p.pid)).toEqual(both);
    failing = true;
    expect(tracker.sample().map((p) => p.pid)).toEqual(both);
    await tracker.sampleInSlices();
    expect(tracker.known().map((p) => p.pid)).toEqual(both);
    // Kept, but not signalled while its start time cannot be read again.
    expect(tracker.signalEscaped('SIGTERM')).toEqual([]);
    expect(sent).toEqual([]);
    failing = false;
    expect(tracker.signalEscaped('SIGKILL')).toEqual([grandchild]);
    expect(sent).toEqual([grandchild]);
    process.kill(grandchild, 'SIGKILL');
    await waitFor(() => !isRunning(grandchild), { message: 'the grandchild did not die on SIGKILL' });
    // Gone (reaped: the kernel no longer knows the pid) while its reads still fail: forgotten.
    failing = true;
    await waitFor(() => {
      try {
        process.kill(grandchild, 0);
        return false;
      } catch {
        return true;
      }
    }, { message: 'the grandchild was not reaped' });
    expect(tracker.sample().map((p) => p.pid)).toEqual([parent]);
    process.kill(parent, 'SIGKILL');
    await assertAllGone([parent, grandchild]);
  });

  it('a process kept only because its pid exists adopts nothing: the pid may name an unrelated process by now', async () => {
    const leader = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
    // Unrelated to the leader, with a child of its own: what holds the remembered pid after reuse.
    const other = spawn('sh', ['-c', 'sleep 60 & wait'], { detached: true, stdio: 'ignore' });
    for (const child of [leader, other]) track(child.pid as number);
    const child = await waitFor(() => PROC.pids().find((pid) => PROC.stat(pid)?.ppid === other.pid) ?? 0, { message: 'the unrelated process has no child yet' });
    track(child);
    let phase: 'tracked' | 'unreadable' | 'readable' = 'tracked';
    // First `other` is read as the leader's child under an older start time (the process that
    // had its pid before), hiding its own child; then its reads fail (EMFILE); then they work.
    const proc: Proc = {
      ...PROC,
      pids: () => PROC.pids().filter((pid) => !(phase === 'tracked' && pid === child)),
      stat: (pid) => {
        const stat = PROC.stat(pid);
        if (pid !== other.pid || stat === null || phase === 'readable') return stat;
        return phase === 'tracked' ? { ...stat, startTime: '1', ppid: leader.pid as number, pgid: 424242, sid: 424242 } : null;
      },
    };
    const sent: number[] = [];
    const tracker = new DescendantTracker(leader.pid as number, { proc, kill: (pid) => sent.push(pid) });
    const both = [leader.pid as number, other.pid as number].sort((a, b) => a - b);
    expect(tracker.sample().map((p) => p.pid)).toEqual(both);
    phase = 'unreadable';
    expect(tracker.sample().map((p) => p.pid)).toEqual(both);
    phase = 'readable';
    expect(tracker.sample().map((p) => p.pid)).toEqual([leader.pid]);
    expect(tracker.signalEscaped('SIGKILL')).toEqual([]);
    expect(sent).toEqual([]);
    for (const pid of [child, other.pid as number, leader.pid as number]) process.kill(pid, 'SIGKILL');
    await assertAllGone([child, other.pid as number, leader.pid as number]);
  });

  it('forgets a remembered process once it is gone and signals nothing in its name', async () => {
    const { parent, grandchild } = await startEscaping({ PARENT_IGNORE_SIGTERM: '1' });
    const sent: number[] = [];
    const tracker = new DescendantTracker(parent, { kill: (pid) => sent.push(pid) });
    tracker.sample();
    // Forget-and-replace: once the remembered process is gone, a new sample drops it.
    process.kill(grandchild, 'SIGKILL');
    await waitFor(() => !isRunning(grandchild));
    expect(tracker.signalEscaped('SIGTERM')).toEqual([]);
    expect(sent).toEqual([]);
    process.kill(parent, 'SIGKILL');
    await assertAllGone([parent, grandchild]);
  });

  it('adopts the grandchild of a double fork whose setsid parent exited between two samples', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'naija-sup-double-fork-'));
    const pidFile = join(dir, 'b.pid');
    // A (setsid, like a daemon's first fork) waits for SIGUSR1, then forks B and exits at once:
    // B is reparented with no ppid link left; only its session (A's, seen before) ties it to us.
    const a = `const { spawn } = require('node:child_process'); const fs = require('node:fs');
      process.on('SIGUSR1', () => { const b = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
        fs.writeFileSync(${JSON.stringify(pidFile)}, String(b.pid)); b.unref(); process.exit(0); });
      console.log('A ' + process.pid); setInterval(() => {}, 1000);`;
    const leader = `const { spawn } = require('node:child_process');
      const a = spawn(process.execPath, ['-e', ${JSON.stringify(a)}], { detached: true, stdio: ['ignore', 'inherit', 'inherit'] });
      setInterval(() => {}, 1000);`;
    const handle = spawnInstance({ command: [process.execPath, '-e', leader], cwd: dir, env: childEnv() });
    trackChild(handle);
    const aPid = Number((await waitForLine(handle, /^A (\d+)$/))[1]);
    track(aPid);
    const tracker = new DescendantTracker(handle.pid as number);
    expect(tracker.escaped().map((p) => p.pid)).toEqual([aPid]);
    process.kill(aPid, 'SIGUSR1');
    const bPid = await waitFor(() => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0));
    track(bPid);
    await waitFor(() => !isRunning(aPid), { message: 'A did not exit' });
    expect(readProcStat(bPid)?.sid).toBe(aPid);
    expect(tracker.escaped().map((p) => p.pid)).toEqual([bPid]);
    // Something unrelated (this test's own child, in vitest's session) is never adopted.
    const unrelated = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    track(unrelated.pid as number);
    expect(tracker.sample().map((p) => p.pid)).not.toContain(unrelated.pid);

    expect(tracker.signalEscaped('SIGKILL')).toEqual([bPid]);
    process.kill(unrelated.pid as number, 'SIGKILL');
    expect(signalGroup({ ...(handle.groupTarget() as NonNullable<ReturnType<typeof handle.groupTarget>>) }, 'SIGKILL')).toBe('sent');
    await assertAllGone([handle.pid as number, aPid, bPid, unrelated.pid as number]);
    rmSync(dir, { recursive: true, force: true });
  });
});
