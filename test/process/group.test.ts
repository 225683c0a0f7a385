import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProc } from '../../src/process/proc-read.js';
import { isGroupAlive, listDescendants, listGroupMembers, listProcesses } from '../../src/process/group.js';
import { assertAllGone, createFakeProc, killAllTracked, startFixture, type FakeProc } from '../helpers/processes.js';

describe('group listing on a fake proc root', () => {
  let proc: FakeProc;
  beforeEach(() => {
    proc = createFakeProc();
    // 100 leads group 100; 101 and 102 are its workers; 103 is a zombie member; 104 left the group
    // (setsid) and has a child 105; 200 is unrelated; 106 is a worker orphaned to PID 1.
    proc.add({ pid: 100, ppid: 1, pgid: 100 });
    proc.add({ pid: 101, ppid: 100, pgid: 100 });
    proc.add({ pid: 102, ppid: 101, pgid: 100 });
    proc.add({ pid: 103, ppid: 100, pgid: 100, state: 'Z' });
    proc.add({ pid: 104, ppid: 100, pgid: 104, sid: 104 });
    proc.add({ pid: 105, ppid: 104, pgid: 104 });
    proc.add({ pid: 106, ppid: 1, pgid: 100 });
    proc.add({ pid: 200, ppid: 1, pgid: 200 });
  });
  afterEach(() => proc.cleanup());

  it('lists every live member of the group, orphans included, zombies excluded', () => {
    expect(listGroupMembers(100, { proc: createProc(proc.root) })).toEqual([100, 101, 102, 106]);
    expect(listGroupMembers(104, { proc: createProc(proc.root) })).toEqual([104, 105]);
    expect(listGroupMembers(999, { proc: createProc(proc.root) })).toEqual([]);
    expect(isGroupAlive(100, { proc: createProc(proc.root) })).toBe(true);
    expect(isGroupAlive(999, { proc: createProc(proc.root) })).toBe(false);
  });

  it('never lists group 0 or negative groups', () => {
    proc.add({ pid: 2, ppid: 0, pgid: 0 });
    expect(listGroupMembers(0, { proc: createProc(proc.root) })).toEqual([]);
    expect(listGroupMembers(-100, { proc: createProc(proc.root) })).toEqual([]);
  });

  it('a group whose only member is a zombie is not alive', () => {
    proc.update(101, { state: 'Z' });
    proc.update(102, { state: 'Z' });
    proc.update(106, { state: 'Z' });
    proc.update(100, { state: 'Z' });
    expect(isGroupAlive(100, { proc: createProc(proc.root) })).toBe(false);
  });

  it('a zombie leader whose other threads are still exiting is still a member (they hold its files)', () => {
    proc.update(101, { state: 'Z' });
    proc.update(102, { state: 'Z' });
    proc.update(106, { state: 'Z' });
    proc.update(100, { state: 'Z', threads: 3 });
    expect(listGroupMembers(100, { proc: createProc(proc.root) })).toEqual([100]);
    expect(isGroupAlive(100, { proc: createProc(proc.root) })).toBe(true);
    proc.update(100, { state: 'Z', threads: 1 });
    expect(isGroupAlive(100, { proc: createProc(proc.root) })).toBe(false);
  });

  it('walks descendants in one pass, including those that left the group, but not orphans', () => {
    expect(listDescendants(100, { proc: createProc(proc.root) }).map((stat) => stat.pid)).toEqual([101, 102, 104, 105]);
    expect(listDescendants([104, 101], { proc: createProc(proc.root) }).map((stat) => stat.pid)).toEqual([102, 105]);
    expect(listDescendants(200, { proc: createProc(proc.root) })).toEqual([]);
  });

  it('skips directories that are not processes and stat files that vanished', () => {
    proc.remove(200);
    expect(listProcesses({ proc: createProc(proc.root) }).map((stat) => stat.pid)).toEqual([100, 101, 102, 103, 104, 105, 106]);
    expect(listProcesses({ proc: createProc('/nonexistent-proc-root') })).toEqual([]);
  });
});

describe('group listing of real processes', () => {
  afterEach(() => {
    killAllTracked();
  });

  it('finds the parent and its forked worker in the instance group', async () => {
    const app = await startFixture('forks-worker.mjs');
    const worker = app.workerPid as number;
    expect(worker).toBeGreaterThan(0);
    expect(listGroupMembers(app.pgid)).toEqual([app.pid, worker].sort((a, b) => a - b));
    expect(listDescendants(app.pid).map((stat) => stat.pid)).toContain(worker);
    expect(isGroupAlive(app.pgid)).toBe(true);

    await app.stop();
    expect(isGroupAlive(app.pgid)).toBe(false);
    await assertAllGone([app.pid, worker]);
  });
});
