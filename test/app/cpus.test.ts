/**
 * `instances: "max"` (issue 20): the CPU count from the cgroup quota, on cgroup files captured
 * from real systems (a v2 container with a quota, a v2 host without, a v1 Docker container, a
 * hybrid host, a quota on a parent slice). The machine the tests run on cannot always create a
 * cgroup with a quota, so the reading is tested on its files; the last case reads the real ones.
 */
import { describe, expect, it } from 'vitest';
import { availableCpus, cgroupCpuQuota, instanceCount, parseCfsQuota, parseCpuMax } from '../../src/app/cpus.js';

/** A reader over captured files, keyed by absolute path under the root "/". */
function captured(files: Record<string, string>): (path: string) => string | null {
  return (path) => files[path] ?? null;
}

describe('parseCpuMax (cgroup v2)', () => {
  it.each([
    ['max 100000\n', null],
    ['200000 100000\n', 2],
    ['150000 100000', 1.5],
    ['50000 100000', 0.5],
    ['garbage', null],
    ['', null],
  ])('%j → %j', (text, cpus) => {
    expect(parseCpuMax(text)).toBe(cpus);
  });
});

describe('parseCfsQuota (cgroup v1)', () => {
  it.each([
    ['-1\n', '100000\n', null],
    ['400000\n', '100000\n', 4],
    ['25000', '50000', 0.5],
    ['100000', null, 1],
  ])('quota %j period %j → %j', (quota, period, cpus) => {
    expect(parseCfsQuota(quota, period)).toBe(cpus);
  });
});

describe('cgroupCpuQuota', () => {
  it('reads a v2 container whose own cgroup is the namespace root', () => {
    const readFile = captured({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '300000 100000\n' });
    expect(cgroupCpuQuota({ readFile })).toBe(3);
  });

  it('takes the smallest quota along the ancestors (a limited slice, an unlimited service)', () => {
    const readFile = captured({
      '/proc/self/cgroup': '0::/system.slice/api.service\n',
      '/sys/fs/cgroup/system.slice/api.service/cpu.max': 'max 100000\n',
      '/sys/fs/cgroup/system.slice/cpu.max': '200000 100000\n',
    });
    expect(cgroupCpuQuota({ readFile })).toBe(2);
  });

  it('finds none on a v2 host without a quota', () => {
    const readFile = captured({ '/proc/self/cgroup': '0::/user.slice/user-1000.slice/session-2.scope\n', '/sys/fs/cgroup/user.slice/cpu.max': 'max 100000\n' });
    expect(cgroupCpuQuota({ readFile })).toBeNull();
  });

  it('reads a v1 Docker container (cpu,cpuacct mounted at the container root)', () => {
    const readFile = captured({
      '/proc/self/cgroup': '12:cpu,cpuacct:/docker/4f1c2b\n11:memory:/docker/4f1c2b\n0::/system.slice/containerd.service\n',
      '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '150000\n',
      '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000\n',
    });
    expect(cgroupCpuQuota({ readFile })).toBe(1.5);
  });

  it('reads a v1 hierarchy with cpu alone, quota -1 (none)', () => {
    const readFile = captured({
      '/proc/self/cgroup': '1:cpu:/\n2:cpuacct:/\n0::/\n',
      '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n',
      '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
    });
    expect(cgroupCpuQuota({ readFile })).toBeNull();
  });

  it('finds none without /proc (not Linux)', () => {
    expect(cgroupCpuQuota({ readFile: () => null })).toBeNull();
  });

  it('reads under another root', () => {
    const readFile = captured({ '/captured/proc/self/cgroup': '0::/\n', '/captured/sys/fs/cgroup/cpu.max': '100000 100000\n' });
    expect(cgroupCpuQuota({ root: '/captured', readFile })).toBe(1);
  });
});

describe('availableCpus and instanceCount', () => {
  const quota = (cpuMax: string): ((path: string) => string | null) => captured({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': cpuMax });

  it('caps the parallelism by the quota, rounded down, at least 1', () => {
    expect(availableCpus({ readFile: quota('200000 100000'), parallelism: 8 })).toBe(2);
    expect(availableCpus({ readFile: quota('150000 100000'), parallelism: 8 })).toBe(1);
    expect(availableCpus({ readFile: quota('50000 100000'), parallelism: 8 })).toBe(1);
    expect(availableCpus({ readFile: quota('1600000 100000'), parallelism: 4 })).toBe(4);
    expect(availableCpus({ readFile: quota('max 100000'), parallelism: 6 })).toBe(6);
  });

  it('counts "max" and takes a number as it is', () => {
    expect(instanceCount('max', { readFile: quota('300000 100000'), parallelism: 8 })).toBe(3);
    expect(instanceCount(5, { readFile: quota('100000 100000'), parallelism: 1 })).toBe(5);
  });

  it('reads this machine: between 1 and its available parallelism', async () => {
    const { availableParallelism } = await import('node:os');
    const n = availableCpus();
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThanOrEqual(availableParallelism());
  });
});
