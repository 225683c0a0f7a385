import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createProc } from '../../src/process/proc-read.js';
import { listDescendants, listGroupMembers } from '../../src/process/group.js';
import { isSameProcess, readBootId, readProcStat } from '../../src/process/identity.js';
import {
  decideGroupSignal,
  readSelfInfo,
  refusalReason,
  signalGroup,
  signalGroupWithReason,
  terminateGroup,
  type GroupTarget,
  type SelfInfo,
} from '../../src/process/terminate.js';
import {
  assertAllGone,
  createFakeProc,
  killAllTracked,
  startFixture,
  track,
  waitFor,
  waitForLine,
  type FakeProc,
} from '../helpers/processes.js';

const SELF: SelfInfo = { pid: 900_000, pgid: 900_000, ancestors: [899_999, 899_998] };

describe('refusals', () => {
  it('never signals pgid/pid 0 or 1, ourselves, our group or our ancestors', () => {
    const kill = vi.fn();
    const base = { startTime: '1', bootId: null };
    const targets: GroupTarget[] = [
      { ...base, pid: 1, pgid: 1 },
      { ...base, pid: 0, pgid: 0 },
      { ...base, pid: 500, pgid: 1 },
      { ...base, pid: 1, pgid: 500 },
      { ...base, pid: SELF.pid, pgid: 500 },
      { ...base, pid: 500, pgid: SELF.pgid ?? 0 },
      { ...base, pid: 899_999, pgid: 899_999 },
      { ...base, pid: 500, pgid: 899_998 },
      { ...base, pid: Number.NaN, pgid: 500 },
    ];
    for (const target of targets) {
      expect(signalGroup({ ...target, ownChild: true }, 'SIGKILL', { kill, self: SELF })).toBe('refused');
    }
    expect(kill).not.toHaveBeenCalled();
  });

  it('refuses our real process group and pid without touching them', () => {
    const self = readSelfInfo();
    const own = readProcStat(process.pid);
    expect(own).not.toBeNull();
    expect(self.pgid).toBe(own?.pgid);
    expect(self.ancestors[0]).toBe(process.ppid);
    const kill = vi.fn();
    const startTime = own?.startTime ?? '';
    expect(signalGroup({ pid: process.pid, pgid: self.pgid ?? -1, startTime, bootId: readBootId() }, 'SIGTERM', { kill })).toBe('refused');
    expect(refusalReason({ pid: 4242, pgid: self.pgid ?? -1 }, self)).toMatch(/own process group/);
    expect(refusalReason({ pid: 1, pgid: 1 }, self)).toMatch(/never signalled/);
    expect(refusalReason({ pid: 4242, pgid: 4242 }, { pid: 1, pgid: 2, ancestors: [] })).toBeNull();
    expect(kill).not.toHaveBeenCalled();
  });
});

describe('signalGroup on a fake proc root', () => {
  let proc: FakeProc;
  const target: GroupTarget = { pid: 100, pgid: 100, startTime: '5000', bootId: 'boot-A' };
  beforeEach(() => {
    proc = createFakeProc('boot-A');
    proc.add({ pid: 100, ppid: 1, pgid: 100, startTime: '5000' });
    proc.add({ pid: 101, ppid: 100, pgid: 100, startTime: '5010' });
  });
  afterEach(() => proc.cleanup());

  const deps = (kill = vi.fn()) => ({ proc: createProc(proc.root), self: SELF, kill });

  it('signals -pgid when the leader is verified', () => {
    const kill = vi.fn();
    expect(signalGroupWithReason(target, 'SIGTERM', deps(kill))).toEqual({ result: 'sent', reason: 'leader verified' });
    expect(kill).toHaveBeenCalledExactlyOnceWith(-100, 'SIGTERM');
  });

  it('treats a reused leader pid as gone and signals nothing', () => {
    proc.update(100, { startTime: '7777' });
    const kill = vi.fn();
    expect(signalGroup({ ...target, ownChild: true }, 'SIGKILL', deps(kill))).toBe('gone');
    expect(kill).not.toHaveBeenCalled();
  });

  it('refuses an orphaned group it cannot verify, signals it when it is our child or a member is verified', () => {
    proc.remove(100);
    const kill = vi.fn();
    expect(signalGroupWithReason(target, 'SIGTERM', deps(kill))).toMatchObject({ result: 'refused' });
    expect(kill).not.toHaveBeenCalled();
    // A recorded member with another start time is not proof.
    expect(signalGroup({ ...target, verifiedMembers: [{ pid: 101, startTime: '1' }] }, 'SIGTERM', deps(kill))).toBe('refused');
    expect(kill).not.toHaveBeenCalled();

    expect(signalGroup({ ...target, ownChild: true }, 'SIGTERM', deps(kill))).toBe('sent');
    expect(signalGroup(target, 'SIGTERM', { ...deps(kill), ownChild: true })).toBe('sent');
    expect(signalGroup({ ...target, verifiedMembers: [{ pid: 101, startTime: '5010' }] }, 'SIGTERM', deps(kill))).toBe('sent');
    expect(kill).toHaveBeenCalledTimes(3);
    expect(kill).toHaveBeenCalledWith(-100, 'SIGTERM');
  });

  it('signals the group behind a zombie leader (our process, exited, unreaped) while members live', () => {
    proc.update(100, { state: 'Z' });
    const kill = vi.fn();
    expect(signalGroup(target, 'SIGTERM', deps(kill))).toBe('sent');
    proc.remove(101);
    expect(signalGroup(target, 'SIGTERM', deps(kill))).toBe('gone');
    expect(kill).toHaveBeenCalledTimes(1);
  });

  it('refuses when the verified leader moved to another group', () => {
    proc.update(100, { pgid: 555 });
    expect(decideGroupSignal(target, deps())).toMatchObject({ action: 'refused', reason: expect.stringMatching(/moved/) });
  });

  it('maps ESRCH to gone and EPERM to refused', () => {
    const fail = (code: string) => () => {
      throw Object.assign(new Error(code), { code });
    };
    expect(signalGroup(target, 'SIGTERM', { proc: createProc(proc.root), self: SELF, kill: fail('ESRCH') })).toBe('gone');
    expect(signalGroup(target, 'SIGTERM', { proc: createProc(proc.root), self: SELF, kill: fail('EPERM') })).toBe('refused');
  });
});

describe('terminateGroup with fake /proc, fake kill and fake timers', () => {
  let proc: FakeProc;
  const target: GroupTarget = { pid: 100, pgid: 100, startTime: '5000', bootId: 'boot-A' };
  beforeEach(() => {
    vi.useFakeTimers();
    proc = createFakeProc('boot-A');
    proc.add({ pid: 100, ppid: 1, pgid: 100, startTime: '5000' });
    proc.add({ pid: 101, ppid: 100, pgid: 100, startTime: '5010' });
  });
  afterEach(() => {
    vi.useRealTimers();
    proc.cleanup();
  });

  /** A kill that makes the group die of `dieOn` signals (the leader as an unreaped zombie). */
  const groupKill = (dieOn: readonly string[], afterMs = 0) =>
    vi.fn((pid: number, signal: NodeJS.Signals | 0) => {
      if (pid !== -100 || !dieOn.includes(String(signal))) return;
      const die = (): void => {
        if (proc.has(100)) proc.update(100, { state: 'Z' });
        proc.remove(101);
      };
      if (afterMs === 0) die();
      else setTimeout(die, afterMs);
    });

  it('exited: SIGTERM once, the group leaves within the grace period (a zombie leader counts as gone)', async () => {
    const kill = groupKill(['SIGTERM'], 300);
    const promise = terminateGroup(target, { timeout: 2000, proc: createProc(proc.root), self: SELF, kill });
    await vi.advanceTimersByTimeAsync(400);
    const result = await promise;
    expect(result).toMatchObject({ outcome: 'exited', signalled: true, forced: false, remaining: [] });
    expect(result.durationMs).toBeGreaterThanOrEqual(300);
    expect(result.durationMs).toBeLessThan(400);
    expect(kill.mock.calls).toEqual([[-100, 'SIGTERM']]);
  });

  it('killed: a group that ignores SIGTERM is SIGKILLed at the timeout', async () => {
    const kill = groupKill(['SIGKILL']);
    const promise = terminateGroup(target, { timeout: 1000, proc: createProc(proc.root), self: SELF, kill });
    await vi.advanceTimersByTimeAsync(999);
    expect(kill.mock.calls).toEqual([[-100, 'SIGTERM']]);
    await vi.advanceTimersByTimeAsync(100);
    const result = await promise;
    expect(result).toMatchObject({ outcome: 'killed', signalled: true, forced: true });
    expect(result.durationMs).toBeGreaterThanOrEqual(1000);
    expect(kill.mock.calls).toEqual([[-100, 'SIGTERM'], [-100, 'SIGKILL']]);
  });

  it('SIGKILL stays allowed after the leader exited on SIGTERM while a worker ignores it', async () => {
    const kill = vi.fn((pid: number, signal: NodeJS.Signals | 0) => {
      if (signal === 'SIGTERM') proc.remove(100); // the leader exits and is reaped; the worker lives on
      if (signal === 'SIGKILL') proc.remove(101);
      expect(pid).toBe(-100);
    });
    // Not ownChild: the permission comes from the members verified at the first signal.
    const promise = terminateGroup(target, { timeout: 500, proc: createProc(proc.root), self: SELF, kill });
    await vi.advanceTimersByTimeAsync(600);
    expect(await promise).toMatchObject({ outcome: 'killed', forced: true });
    expect(kill.mock.calls.map((call) => call[1])).toEqual(['SIGTERM', 'SIGKILL']);
  });

  it('killNow: a second Ctrl+C ends the grace period at once', async () => {
    const kill = groupKill(['SIGKILL']);
    const controller = new AbortController();
    const promise = terminateGroup(target, { timeout: 30_000, proc: createProc(proc.root), self: SELF, kill, killNow: controller.signal });
    await vi.advanceTimersByTimeAsync(100);
    controller.abort();
    await vi.advanceTimersByTimeAsync(50);
    const result = await promise;
    expect(result).toMatchObject({ outcome: 'killed', forced: true });
    expect(result.durationMs).toBeLessThan(200);
  });

  it('killNow already aborted: SIGKILL right away, no SIGTERM', async () => {
    const kill = groupKill(['SIGKILL']);
    const result = await terminateGroup(target, { timeout: 30_000, proc: createProc(proc.root), self: SELF, kill, killNow: AbortSignal.abort() });
    expect(result.outcome).toBe('killed');
    expect(kill.mock.calls).toEqual([[-100, 'SIGKILL']]);
  });

  it('survived: reports what is left when even SIGKILL does not clear the group', async () => {
    const kill = vi.fn();
    const promise = terminateGroup(target, { timeout: 100, killTimeout: 1000, proc: createProc(proc.root), self: SELF, kill });
    await vi.advanceTimersByTimeAsync(1200);
    expect(await promise).toMatchObject({ outcome: 'survived', forced: true, remaining: [100, 101] });
  });

  it('gone-already: nothing is signalled when the leader is gone or reused', async () => {
    const kill = vi.fn();
    proc.update(100, { startTime: '1' });
    proc.remove(101);
    expect(await terminateGroup(target, { timeout: 100, proc: createProc(proc.root), self: SELF, kill })).toMatchObject({
      outcome: 'gone-already',
      signalled: false,
    });
    proc.remove(100);
    expect(await terminateGroup({ ...target, ownChild: true }, { timeout: 100, proc: createProc(proc.root), self: SELF, kill })).toMatchObject({
      outcome: 'gone-already',
    });
    expect(kill).not.toHaveBeenCalled();
  });

  it('refused: an unverifiable orphaned group is left alone', async () => {
    const kill = vi.fn();
    proc.remove(100);
    const result = await terminateGroup(target, { timeout: 100, proc: createProc(proc.root), self: SELF, kill });
    expect(result).toMatchObject({ outcome: 'refused', signalled: false });
    expect(kill).not.toHaveBeenCalled();
  });

  it('also signals a descendant that left the group (setsid), re-verified by start time', async () => {
    proc.add({ pid: 102, ppid: 101, pgid: 102, sid: 102, startTime: '5020' });
    const kill = vi.fn((pid: number, signal: NodeJS.Signals | 0) => {
      if (signal !== 'SIGTERM') return;
      if (pid === -100) {
        proc.update(100, { state: 'Z' });
        proc.remove(101);
      }
      if (pid === 102) proc.remove(102);
    });
    const promise = terminateGroup(target, { timeout: 1000, proc: createProc(proc.root), self: SELF, kill });
    await vi.advanceTimersByTimeAsync(50);
    expect(await promise).toMatchObject({ outcome: 'exited' });
    expect(kill.mock.calls).toEqual([[-100, 'SIGTERM'], [102, 'SIGTERM']]);
  });

  it('rejects nonsensical timing options', async () => {
    await expect(terminateGroup(target, { timeout: 100, pollInterval: 0, proc: createProc(proc.root), self: SELF })).rejects.toThrow(RangeError);
  });
});

describe('terminateGroup with real processes', () => {
  afterEach(() => {
    vi.useRealTimers();
    killAllTracked();
  });

  it('exited: a server that stops on SIGTERM', async () => {
    const server = await startFixture('healthy-server.mjs');
    const result = await terminateGroup(server.target, { timeout: 10_000 });
    expect(result).toMatchObject({ outcome: 'exited', signalled: true, forced: false });
    expect(await server.child.waitForExit()).toEqual({ code: 0, signal: null });
    expect(server.lines.map((entry) => entry.line)).toContain('DRAINING signal=SIGTERM drain_ms=0');
    await assertAllGone([server.pid]);
    // Safe to call twice.
    expect((await terminateGroup(server.target, { timeout: 1000 })).outcome).toBe('gone-already');
  });

  it('exited: waits through a slow drain (DRAIN_MS) without escalating', async () => {
    const server = await startFixture('healthy-server.mjs', { DRAIN_MS: '300' });
    const result = await terminateGroup(server.target, { timeout: 10_000 });
    expect(result).toMatchObject({ outcome: 'exited', forced: false });
    expect(result.durationMs).toBeGreaterThanOrEqual(250);
    expect(await server.child.waitForExit()).toEqual({ code: 0, signal: null });
    await assertAllGone([server.pid]);
  });

  it('killed: a server that ignores SIGTERM is SIGKILLed after the timeout', async () => {
    const server = await startFixture('ignore-sigterm.mjs');
    const result = await terminateGroup(server.target, { timeout: 400 });
    expect(result).toMatchObject({ outcome: 'killed', signalled: true, forced: true });
    expect(result.durationMs).toBeGreaterThanOrEqual(400);
    expect(await server.child.waitForExit()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(server.lines.map((entry) => entry.line)).toContain('IGNORING SIGTERM');
    await assertAllGone([server.pid]);
  });

  it('killNow: the second Ctrl+C kills at once instead of waiting out the grace period', async () => {
    const server = await startFixture('ignore-sigterm.mjs');
    const controller = new AbortController();
    const stopping = terminateGroup(server.target, { timeout: 20_000, killNow: controller.signal });
    await waitForLine(server, /IGNORING SIGTERM/);
    controller.abort();
    const result = await stopping;
    expect(result).toMatchObject({ outcome: 'killed', forced: true });
    expect(result.durationMs).toBeLessThan(10_000);
    await server.child.waitForExit();
    await assertAllGone([server.pid]);
  });

  it('forks-worker: the parent exits on SIGTERM without its worker, and the group kill takes both', async () => {
    const app = await startFixture('forks-worker.mjs');
    const worker = app.workerPid as number;
    const result = await terminateGroup(app.target, { timeout: 10_000 });
    expect(result.outcome).toBe('exited');
    await app.child.waitForExit();
    await assertAllGone([app.pid, worker]);
  });

  it('forks-worker whose worker ignores SIGTERM: the leader is gone, the worker is SIGKILLed', async () => {
    const app = await startFixture('forks-worker.mjs', { WORKER_IGNORE_SIGTERM: '1' });
    const worker = app.workerPid as number;
    const result = await terminateGroup(app.target, { timeout: 500 });
    expect(result).toMatchObject({ outcome: 'killed', forced: true });
    expect(app.lines.map((entry) => entry.line)).toContain('WORKER IGNORING SIGTERM');
    await app.child.waitForExit();
    await assertAllGone([app.pid, worker]);
  });

  it('a worker orphaned by its dead parent keeps serving until the group is stopped', async () => {
    const app = await startFixture('forks-worker.mjs');
    const worker = app.workerPid as number;
    // Kill only the leader (our verified child), as a PID-based stop would.
    expect(isSameProcess(app.target)).toBe('same');
    process.kill(app.pid, 'SIGKILL');
    // 'exit' fires although the worker still holds the stdout pipe (bounded flush).
    expect(await app.child.waitForExit()).toEqual({ code: null, signal: 'SIGKILL' });
    const response = await fetch(`http://127.0.0.1:${String(app.port)}/`);
    expect(await response.text()).toBe(`worker ${worker}\n`);
    expect(listGroupMembers(app.pgid)).toEqual([worker]);
    expect(readProcStat(worker)?.ppid).not.toBe(app.pid);

    // Without proof the group is ours, nothing is signalled…
    const { ownChild: _ignored, ...plain } = app.target;
    expect(signalGroupWithReason(plain, 'SIGTERM')).toMatchObject({ result: 'refused' });
    expect(isSameProcess({ pid: worker, startTime: readProcStat(worker)?.startTime ?? '', bootId: null })).toBe('same');
    // …as our own child's group, it is.
    const result = await terminateGroup(app.target, { timeout: 10_000 });
    expect(result.outcome).toBe('exited');
    await assertAllGone([app.pid, worker]);
  });

  it('sh -c "node healthy-server.mjs": the shell and the server behind it both go', async () => {
    const app = await startFixture('healthy-server.mjs', {}, {
      // "; echo" keeps sh from exec-ing node, so node is a grandchild of the spawn.
      wrap: (command) => ['sh', '-c', `${command.map((part) => `'${part}'`).join(' ')}; echo sh-done`],
    });
    const nodePid = Number(/pid=(\d+)/.exec(app.ready.input ?? '')?.[1]);
    expect(nodePid).not.toBe(app.pid);
    track(nodePid);
    expect(readProcStat(nodePid)?.ppid).toBe(app.pid);
    const result = await terminateGroup(app.target, { timeout: 10_000 });
    expect(result.outcome).toBe('exited');
    await app.child.waitForExit();
    await assertAllGone([app.pid, nodePid]);
  });

  it('a descendant that escaped the group with setsid is stopped too', async () => {
    const app = await startFixture('healthy-server.mjs', {}, {
      wrap: (command) => ['sh', '-c', `setsid sleep 300 & ${command.map((part) => `'${part}'`).join(' ')}; echo sh-done`],
    });
    const escaped = await waitFor(
      () => listDescendants(app.pid).find((stat) => stat.comm === 'sleep' && stat.pgid !== app.pgid),
      { message: 'the setsid sleep did not appear' },
    );
    track(escaped.pid);
    const result = await terminateGroup(app.target, { timeout: 10_000 });
    expect(result.outcome).toBe('exited');
    await app.child.waitForExit();
    await assertAllGone([app.pid, escaped.pid]);
  });
});
