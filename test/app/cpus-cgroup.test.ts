/**
 * `instances: "max"` inside a real cgroup with a CPU quota (issue 20): a child process is moved
 * into a new cgroup limited to 1 CPU and counts the CPUs it may use with dist/app/cpus.js (run
 * `npm run build` first). Creating a cgroup needs root and a writable cgroup hierarchy; where the
 * test cannot create one it checks that, and the reading stays covered by cpus.test.ts on
 * captured cgroup files.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CPUS_JS = fileURLToPath(new URL('../../dist/app/cpus.js', import.meta.url));

/** A writable cpu controller: v2 (cpu.max) or v1 (cpu.cfs_quota_us); null when there is none. */
function cpuHierarchy(): { dir: string; version: 1 | 2 } | null {
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    return readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').split(/\s+/).includes('cpu') ? { dir: '/sys/fs/cgroup', version: 2 } : null;
  }
  for (const dir of ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct']) if (existsSync(`${dir}/cpu.cfs_quota_us`)) return { dir, version: 1 };
  return null;
}

describe('availableCpus in a cgroup limited to 1 CPU', () => {
  it('counts 1, whatever the machine has', () => {
    expect(existsSync(CPUS_JS), 'run "npm run build" first').toBe(true);
    const hierarchy = cpuHierarchy();
    const dir = hierarchy === null ? null : `${hierarchy.dir}/naija-sup-test-${process.pid}`;
    try {
      if (hierarchy === null || dir === null) throw Object.assign(new Error('no cpu controller'), { code: 'ENOENT' });
      mkdirSync(dir);
    } catch (error) {
      // Not root, a read-only hierarchy, or no cpu controller: nothing to create the cgroup with.
      expect(['EACCES', 'EPERM', 'EROFS', 'ENOENT']).toContain((error as NodeJS.ErrnoException).code);
      return;
    }
    try {
      if (hierarchy.version === 2) writeFileSync(`${dir}/cpu.max`, '100000 100000');
      else {
        writeFileSync(`${dir}/cpu.cfs_period_us`, '100000');
        writeFileSync(`${dir}/cpu.cfs_quota_us`, '100000');
      }
      // The shell joins the cgroup, then becomes node: the count is read from inside it.
      const script = `import(${JSON.stringify(CPUS_JS)}).then((m) => console.log(m.availableCpus(), m.cgroupCpuQuota()))`;
      const child = spawnSync('/bin/sh', ['-c', `echo $$ > "${dir}/cgroup.procs" && exec "${process.execPath}" -e '${script}'`], { encoding: 'utf8', timeout: 20_000 });
      expect(child.stderr).toBe('');
      expect(child.stdout.trim()).toBe('1 1');
    } finally {
      rmdirSync(dir);
    }
  });
});
