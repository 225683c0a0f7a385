/** init: container detection and PID 1, against fake roots (and this machine, for real). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { containerMarker, initCheck } from '../../src/doctor/checks/init.js';
import { createProc } from '../../src/process/proc-read.js';
import type { DoctorContext } from '../../src/doctor/index.js';
import { removeTemps, tempDir } from './helpers.js';

afterAll(() => {
  removeTemps();
});

/** A fake / and /proc: PID 1 named `comm`, optionally with /.dockerenv or a cgroup line. */
function fakeRoot(comm: string, marker: 'dockerenv' | 'cgroup' | 'none'): Pick<DoctorContext, 'rootDir' | 'proc'> {
  const rootDir = tempDir();
  const procRoot = join(rootDir, 'proc');
  mkdirSync(join(procRoot, '1'), { recursive: true });
  writeFileSync(join(procRoot, '1', 'comm'), `${comm}\n`);
  writeFileSync(join(procRoot, '1', 'cgroup'), marker === 'cgroup' ? '0::/kubepods/besteffort/pod1/abc\n' : '0::/\n');
  if (marker === 'dockerenv') writeFileSync(join(rootDir, '.dockerenv'), '');
  return { rootDir, proc: createProc(procRoot) };
}

const run = (roots: Pick<DoctorContext, 'rootDir' | 'proc'>) => initCheck.run(roots as DoctorContext);

describe('init', () => {
  it('a container whose PID 1 is the server (node): warn with tini / --init', () => {
    expect(run(fakeRoot('node', 'dockerenv'))).toMatchObject({
      status: 'warn',
      summary: 'PID 1 is node, not an init: orphaned grandchildren of the server become zombies nobody reaps',
      fix: 'Run the container with an init: `docker run --init …` (compose: `init: true`), or make tini PID 1 (`ENTRYPOINT ["tini", "--"]`).',
      details: ['/.dockerenv exists (Docker)', 'PID 1: node'],
    });
  });

  it('a container with tini or docker-init: ok', () => {
    expect(run(fakeRoot('tini', 'dockerenv'))).toMatchObject({ status: 'ok', summary: 'PID 1 is tini, which reaps orphaned processes' });
    expect(run(fakeRoot('docker-init', 'cgroup'))).toMatchObject({ status: 'ok', details: ['/proc/1/cgroup names kubepods', 'PID 1: docker-init'] });
  });

  it('no container: skip', () => {
    expect(run(fakeRoot('systemd', 'none'))).toMatchObject({ status: 'skip', summary: 'not in a container (PID 1 is systemd)' });
    expect(containerMarker(fakeRoot('systemd', 'none').rootDir, { proc: createProc('/nonexistent') })).toBeNull();
  });
});

describe('init without a readable PID 1', () => {
  /** A fake / whose /proc has no entry for PID 1 (hidepid=2), with or without Podman's marker. */
  function hidden(podman: boolean): Pick<DoctorContext, 'rootDir' | 'proc'> {
    const rootDir = tempDir();
    mkdirSync(join(rootDir, 'proc'));
    if (podman) {
      mkdirSync(join(rootDir, 'run'));
      writeFileSync(join(rootDir, 'run', '.containerenv'), '');
    }
    return { rootDir, proc: createProc(join(rootDir, 'proc')) };
  }

  it('in a Podman container: skip, PID 1 cannot be read, the marker named', () => {
    expect(run(hidden(true))).toEqual({ status: 'skip', summary: 'in a container, but PID 1 cannot be read', details: ['/run/.containerenv exists (Podman)'] });
  });

  it('no marker and no cgroup to read: not in a container, PID 1 not named', () => {
    expect(run(hidden(false))).toEqual({ status: 'skip', summary: 'not in a container' });
  });
});
