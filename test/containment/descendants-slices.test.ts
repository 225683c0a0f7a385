/**
 * DescendantTracker's pass in slices (the periodic samples, which must not block the event loop
 * that proxy mode relays requests on) against a fake /proc tree: it remembers what a synchronous
 * pass would, and a pass overtaken by a synchronous one (a stop while it read) is dropped.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DescendantTracker } from '../../src/process/descendants.js';
import { createProc } from '../../src/process/proc-read.js';
import { createFakeProc, type FakeProc } from '../helpers/processes.js';

const SELF = { pid: 50, pgid: 50, ancestors: [40] };
let fake: FakeProc | null = null;

afterEach(() => {
  fake?.cleanup();
  fake = null;
});

/** Leader 100; its child 101; 102, which left with setsid; 200, unrelated. */
function tree(): FakeProc {
  fake = createFakeProc();
  fake.add({ pid: 100, ppid: 50, pgid: 100, sid: 100, startTime: '1000' });
  fake.add({ pid: 101, ppid: 100, pgid: 100, sid: 100, startTime: '1001' });
  fake.add({ pid: 102, ppid: 101, pgid: 102, sid: 102, startTime: '1002' });
  fake.add({ pid: 200, ppid: 1, pgid: 200, sid: 200, startTime: '900' });
  return fake;
}

describe('DescendantTracker.sampleInSlices', () => {
  it('remembers the same processes as a synchronous pass, and forgets the ones gone', async () => {
    const proc = tree();
    const tracker = new DescendantTracker(100, { proc: createProc(proc.root), self: SELF });
    await tracker.sampleInSlices();
    expect(tracker.known().map((p) => p.pid)).toEqual([100, 101, 102]);
    expect(new DescendantTracker(100, { proc: createProc(proc.root), self: SELF }).sample()).toEqual(tracker.known());

    proc.remove(101);
    await tracker.sampleInSlices();
    expect(tracker.known().map((p) => p.pid)).toEqual([100, 102]);
  });

  it('drops its result when a synchronous pass ran while it read /proc (that one is newer)', async () => {
    const proc = tree();
    // More processes than one slice reads, so the pass yields to the event loop at least once.
    for (let pid = 300; pid < 340; pid += 1) proc.add({ pid, ppid: 1, pgid: pid, sid: pid, startTime: String(pid) });
    const tracker = new DescendantTracker(100, { proc: createProc(proc.root), self: SELF });
    const pending = tracker.sampleInSlices();
    // 103 starts (and leaves with setsid) after the pass listed /proc; a stop's synchronous pass sees it.
    proc.add({ pid: 103, ppid: 101, pgid: 103, sid: 103, startTime: '1003' });
    expect(tracker.sample().map((p) => p.pid)).toEqual([100, 101, 102, 103]);
    // Merged, the older pass would forget 103.
    await pending;
    expect(tracker.known().map((p) => p.pid)).toEqual([100, 101, 102, 103]);
  });
});
