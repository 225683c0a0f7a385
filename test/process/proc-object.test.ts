/**
 * The Proc object's per-process readers on a fake /proc: each refuses a pid that cannot name a
 * process (0, negative, fractional) without touching the file system, and reads the right file
 * otherwise; the boot time comes from /proc/stat's btime line.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProc } from '../../src/process/proc-read.js';
import { createFakeProc, type FakeProc } from '../helpers/processes.js';

let fake: FakeProc;
beforeEach(() => {
  fake = createFakeProc();
  fake.add({ pid: 42, comm: 'node', uid: 1000, startTime: '777' });
  writeFileSync(join(fake.root, '42', 'comm'), 'node\n');
  writeFileSync(join(fake.root, '42', 'cgroup'), '0::/user.slice\n');
  // Files a pid of 0 would name, were it ever read.
  mkdirSync(join(fake.root, '0'));
  for (const name of ['status', 'comm', 'cgroup', 'stat']) writeFileSync(join(fake.root, '0', name), 'must not be read');
});
afterEach(() => fake.cleanup());

describe('Proc readers of one process', () => {
  it('read status, comm and cgroup of a real pid, nothing for one that cannot be', async () => {
    const proc = createProc(fake.root);
    expect(proc.status(42)).toContain('Uid:\t1000');
    expect(proc.comm(42)).toBe('node\n');
    expect(proc.cgroup(42)).toBe('0::/user.slice\n');
    expect(await proc.statusAsync(42)).toContain('Name:\tnode');
    expect((await proc.statAsync(42))?.startTime).toBe('777');
    for (const pid of [0, -1, 1.5]) {
      expect(proc.status(pid)).toBeNull();
      expect(proc.comm(pid)).toBeNull();
      expect(proc.cgroup(pid)).toBeNull();
      expect(await proc.statusAsync(pid)).toBeNull();
      expect(await proc.statAsync(pid)).toBeNull();
    }
    expect(await proc.statAsync(43)).toBeNull();
  });

  it('the boot time is /proc/stat\'s btime, null without the line or the file', () => {
    const proc = createProc(fake.root);
    expect(proc.bootTime()).toBeNull();
    writeFileSync(join(fake.root, 'stat'), 'cpu  1 2 3\nintr 0\n');
    expect(proc.bootTime()).toBeNull();
    writeFileSync(join(fake.root, 'stat'), 'cpu  1 2 3\nbtime 1700000000\nprocesses 9\n');
    expect(proc.bootTime()).toBe(1_700_000_000);
  });

  it('counts our own open files by default', () => {
    // The real /proc: this test process has at least stdin, stdout and stderr.
    expect(createProc().countOpenFiles()).toBeGreaterThanOrEqual(3);
  });
});
