/**
 * terminateGroup when the world changes under it (fake /proc, fake kill, fake timers): the group
 * vanishes right at a signal, becomes unverifiable before the SIGKILL, a descendant that escaped
 * the group ignores SIGTERM or has its pid reused; and readSelfInfo without a usable /proc.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createProc } from '../../src/process/proc-read.js';
import { readSelfInfo, terminateGroup, type GroupTarget, type SelfInfo } from '../../src/process/terminate.js';
import { createFakeProc, type FakeProc } from '../helpers/processes.js';

const SELF: SelfInfo = { pid: 900_000, pgid: 900_000, ancestors: [899_999] };
const target: GroupTarget = { pid: 100, pgid: 100, startTime: '5000', bootId: 'boot-A' };
const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code });

let proc: FakeProc;
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

describe('terminateGroup: the group changes at the signal', () => {
  it('a group that exits just as SIGTERM is sent is gone already; one we may not signal is refused', async () => {
    const esrch = vi.fn(() => { throw errno('ESRCH'); });
    expect(await terminateGroup(target, { timeout: 100, proc: createProc(proc.root), self: SELF, kill: esrch })).toMatchObject({
      outcome: 'gone-already', signalled: false, reason: 'the group exited just before the signal',
    });
    const eperm = vi.fn(() => { throw errno('EPERM'); });
    expect(await terminateGroup(target, { timeout: 100, proc: createProc(proc.root), self: SELF, kill: eperm })).toMatchObject({
      outcome: 'refused', signalled: false, reason: 'not permitted to signal the group (EPERM)',
    });
  });

  it('a group that vanishes between the last look and the SIGKILL counts as exited after SIGTERM', async () => {
    const kill = vi.fn((_pid: number, signal: NodeJS.Signals | 0) => {
      if (signal === 'SIGKILL') throw errno('ESRCH');
    });
    const promise = terminateGroup(target, { timeout: 100, proc: createProc(proc.root), self: SELF, kill });
    await vi.advanceTimersByTimeAsync(200);
    expect(await promise).toMatchObject({ outcome: 'exited', signalled: true, forced: false, reason: 'exited after SIGTERM' });
  });

  it('with SIGKILL as the stop signal, a group that vanishes first was gone already', async () => {
    const kill = vi.fn(() => { throw errno('ESRCH'); });
    expect(await terminateGroup(target, { timeout: 100, signal: 'SIGKILL', proc: createProc(proc.root), self: SELF, kill })).toMatchObject({
      outcome: 'gone-already', signalled: false, forced: false, reason: 'the group exited just before the signal',
    });
  });

  it('does not SIGKILL a group it can no longer verify, and reports what is left', async () => {
    const kill = vi.fn((_pid: number, signal: NodeJS.Signals | 0) => {
      if (signal !== 'SIGTERM') return;
      // The leader and its worker exit; a process nobody verified is in the group now.
      proc.remove(100);
      proc.remove(101);
      proc.add({ pid: 103, ppid: 1, pgid: 100, startTime: '9000' });
    });
    const promise = terminateGroup(target, { timeout: 100, proc: createProc(proc.root), self: SELF, kill });
    await vi.advanceTimersByTimeAsync(200);
    expect(await promise).toMatchObject({
      outcome: 'survived', signalled: true, forced: false, remaining: [103],
      reason: 'SIGKILL refused: the leader is gone and the remaining group cannot be verified',
    });
    expect(kill.mock.calls).toEqual([[-100, 'SIGTERM']]);
  });

  it('ownChild: a group whose leader (our child) is gone is still ours to stop', async () => {
    proc.remove(100);
    const kill = vi.fn((pid: number) => { if (pid === -100) proc.remove(101); });
    const promise = terminateGroup(target, { timeout: 100, proc: createProc(proc.root), self: SELF, kill, ownChild: true });
    await vi.advanceTimersByTimeAsync(50);
    expect(await promise).toMatchObject({ outcome: 'exited', signalled: true });
    expect(kill.mock.calls).toEqual([[-100, 'SIGTERM']]);
  });
});

describe('terminateGroup: descendants that escaped the group', () => {
  beforeEach(() => {
    proc.add({ pid: 102, ppid: 101, pgid: 102, sid: 102, startTime: '5020' });
  });

  it('one that ignores SIGTERM is waited for, then SIGKILLed by its own pid', async () => {
    const kill = vi.fn((pid: number, signal: NodeJS.Signals | 0) => {
      if (pid === -100 && signal === 'SIGTERM') {
        proc.remove(100);
        proc.remove(101);
      }
      if (pid === -100 && signal === 'SIGKILL') throw errno('ESRCH');
      if (pid === 102 && signal === 'SIGKILL') proc.remove(102);
    });
    const promise = terminateGroup(target, { timeout: 500, proc: createProc(proc.root), self: SELF, kill });
    await vi.advanceTimersByTimeAsync(400);
    expect(kill.mock.calls).toEqual([[-100, 'SIGTERM'], [102, 'SIGTERM']]);
    await vi.advanceTimersByTimeAsync(200);
    expect(await promise).toMatchObject({ outcome: 'killed', forced: true, remaining: [] });
    expect(kill.mock.calls.slice(2)).toEqual([[102, 'SIGKILL']]);
  });

  it('its pid, reused by another process by the time of the SIGKILL, is not signalled', async () => {
    // Nothing obeys SIGTERM; at the group's SIGKILL the escaped one has exited and its pid was reused.
    const kill = vi.fn((pid: number, signal: NodeJS.Signals | 0) => {
      if (pid === -100 && signal === 'SIGKILL') {
        proc.remove(100);
        proc.remove(101);
        proc.update(102, { startTime: '7777' });
      }
    });
    const promise = terminateGroup(target, { timeout: 500, proc: createProc(proc.root), self: SELF, kill });
    await vi.advanceTimersByTimeAsync(600);
    expect(await promise).toMatchObject({ outcome: 'killed', forced: true, remaining: [] });
    expect(kill.mock.calls).toEqual([[-100, 'SIGTERM'], [102, 'SIGTERM'], [-100, 'SIGKILL']]);
  });
});

describe('readSelfInfo', () => {
  it('without /proc knows only itself and its parent', () => {
    expect(readSelfInfo({ proc: createProc('/nonexistent-proc-root') })).toEqual({
      pid: process.pid, pgid: null, ancestors: process.ppid > 1 ? [process.ppid] : [],
    });
  });

  it('stops walking up at an ancestor /proc no longer shows', () => {
    proc.add({ pid: process.pid, ppid: 4242, pgid: 4000, startTime: '1' });
    expect(readSelfInfo({ proc: createProc(proc.root) })).toEqual({ pid: process.pid, pgid: 4000, ancestors: [4242] });
  });
});
