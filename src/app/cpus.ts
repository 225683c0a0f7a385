/**
 * How many CPUs this process may use: `instances: "max"` (issue 20). `os.availableParallelism()`
 * sees the CPUs the scheduler may run us on (the cpuset), not a CPU *quota*: a container limited to
 * 2 CPUs on a 64-core host would start 64 instances that share 2 CPUs' worth of time. So the
 * cgroup's quota is read too — v2 `cpu.max`, v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us` — in our
 * own cgroup and every ancestor (a parent's limit binds its children), and the smaller wins.
 *
 * Reads go through `readFile` rooted at `root`, so tests run the same code on captured cgroup files.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { posix } from 'node:path';

export interface CpuReadOptions {
  /** Where /proc and /sys are: "/" on a real system, a directory of captured files in tests. */
  root?: string;
  /** A file's text, or null when it cannot be read. */
  readFile?: (path: string) => string | null;
  /** The CPUs the scheduler allows (os.availableParallelism()). */
  parallelism?: number;
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** v2 `cpu.max`: "max 100000" (no limit) or "<quota> <period>" in µs; the CPUs it allows, or null. */
export function parseCpuMax(text: string): number | null {
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === undefined || quota === 'max') return null;
  const q = Number(quota);
  const p = period === undefined ? 100_000 : Number(period);
  return Number.isFinite(q) && q > 0 && Number.isFinite(p) && p > 0 ? q / p : null;
}

/** v1 `cpu.cfs_quota_us` ("-1": no limit) and `cpu.cfs_period_us`; the CPUs they allow, or null. */
export function parseCfsQuota(quotaText: string, periodText: string | null): number | null {
  const q = Number(quotaText.trim());
  const p = periodText === null ? 100_000 : Number(periodText.trim());
  return Number.isFinite(q) && q > 0 && Number.isFinite(p) && p > 0 ? q / p : null;
}

/** "/a/b" → ["/a/b", "/a", "/"]. */
function selfAndAncestors(path: string): string[] {
  const out: string[] = [];
  let at = posix.normalize(path.startsWith('/') ? path : `/${path}`);
  for (;;) {
    out.push(at);
    if (at === '/') return out;
    at = posix.dirname(at);
  }
}

function smallest(values: readonly (number | null)[]): number | null {
  const found = values.filter((v): v is number => v !== null);
  return found.length === 0 ? null : Math.min(...found);
}

/**
 * The CPU quota of our cgroup (the smallest along its ancestors, v2 or v1), in CPUs (1.5 = one and
 * a half), or null when there is none. In a container /proc/self/cgroup may name a path of the
 * host's hierarchy that is mounted as the root: the mount's root is read as well.
 */
export function cgroupCpuQuota(options: CpuReadOptions = {}): number | null {
  const root = options.root ?? '/';
  const read = options.readFile ?? readOrNull;
  const at = (...parts: string[]): string => posix.join(root, ...parts);
  const membership = read(at('proc/self/cgroup'));
  if (membership === null) return null;
  const quotas: (number | null)[] = [];
  for (const line of membership.split('\n')) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, id, controllers = '', path = '/'] = match;
    const dirs = [...new Set([...selfAndAncestors(path), '/'])];
    if (id === '0' && controllers === '') {
      for (const dir of dirs) {
        const text = read(at('sys/fs/cgroup', dir, 'cpu.max'));
        if (text !== null) quotas.push(parseCpuMax(text));
      }
    } else if (controllers.split(',').includes('cpu')) {
      for (const mount of ['cpu,cpuacct', 'cpu', 'cpuacct,cpu']) {
        for (const dir of dirs) {
          const quota = read(at('sys/fs/cgroup', mount, dir, 'cpu.cfs_quota_us'));
          if (quota !== null) quotas.push(parseCfsQuota(quota, read(at('sys/fs/cgroup', mount, dir, 'cpu.cfs_period_us'))));
        }
      }
    }
  }
  return smallest(quotas);
}

/**
 * The number of instances "max" means: the CPUs the scheduler allows, capped by the cgroup quota
 * rounded down (a quota of 1.5 CPUs runs one instance, not two that fight over it), at least 1.
 */
export function availableCpus(options: CpuReadOptions = {}): number {
  const parallelism = options.parallelism ?? availableParallelism();
  const quota = cgroupCpuQuota(options);
  return Math.max(1, quota === null ? parallelism : Math.min(parallelism, Math.floor(quota)));
}

/** `instances` from the config as a count. */
export function instanceCount(instances: number | 'max', options: CpuReadOptions = {}): number {
  return instances === 'max' ? availableCpus(options) : instances;
}
